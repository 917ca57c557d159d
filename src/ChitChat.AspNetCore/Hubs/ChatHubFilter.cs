using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace ChitChat.AspNetCore.Hubs;

/// <summary>
/// Maps errors of hub methods to <see cref="HubException"/>s whose message is <c>"&lt;code&gt;: &lt;message&gt;"</c>
/// (e.g. <c>rate_limited: at most 20 messages per 10 seconds</c>). The connection stays open. Unexpected exceptions are
/// logged and reported without details.
/// </summary>
internal sealed partial class ChatHubFilter(ILogger<ChatHubFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext).ConfigureAwait(false);
        }
        catch (ChatException ex)
        {
            throw new HubException($"{ex.Code}: {ex.Message}", ex);
        }
        catch (HubException)
        {
            throw;
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogUnexpected(invocationContext.HubMethodName, ex);
            throw new HubException("internal_error: the server failed to process the request.", ex);
        }
    }

    [LoggerMessage(EventId = 6201, EventName = "HubMethodFailed", Level = LogLevel.Error, Message = "Hub method {Method} failed unexpectedly.")]
    private partial void LogUnexpected(string method, Exception exception);
}
