using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace ChitChat.AspNetCore.Hubs;

/// <summary>
/// Maps errors of hub methods to <see cref="HubException"/>s whose message is <c>"&lt;code&gt;: &lt;message&gt;"</c>
/// (e.g. <c>rate_limited: at most 20 messages per 10 seconds [retryAfterMs=3200]</c>): an error with a retry delay
/// (<c>rate_limited</c>, <c>unavailable</c>) ends with <c>[retryAfterMs=N]</c>, the hub's counterpart of HTTP's
/// <c>Retry-After</c>. The connection stays open. Unexpected exceptions are logged and reported without details.
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
            throw new HubException(Describe(ex), ex);
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

    /// <summary>The hub error message of a ChitChat error: <c>code: message</c>, then <c>[retryAfterMs=N]</c> when it has a retry delay.</summary>
    internal static string Describe(ChatException exception) =>
        exception.RetryAfter is { } retryAfter
            ? string.Create(CultureInfo.InvariantCulture, $"{exception.Code}: {exception.Message} [retryAfterMs={Math.Max(0L, (long)Math.Ceiling(retryAfter.TotalMilliseconds))}]")
            : $"{exception.Code}: {exception.Message}";

    [LoggerMessage(EventId = 6201, EventName = "HubMethodFailed", Level = LogLevel.Error, Message = "Hub method {Method} failed unexpectedly.")]
    private partial void LogUnexpected(string method, Exception exception);
}
