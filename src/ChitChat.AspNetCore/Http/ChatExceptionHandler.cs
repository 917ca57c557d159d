using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Http;

/// <summary>
/// The safety net of <c>UseExceptionHandler</c>: a <see cref="ChatException"/> (including
/// <see cref="ChatStoreUnavailableException"/>) or a <see cref="BadHttpRequestException"/> that escaped an endpoint
/// becomes problem details with its code instead of a 500. Anything else falls through to the default 500 problem.
/// </summary>
internal sealed class ChatExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var chat = exception switch
        {
            ChatException e => e,
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } e => new ChatException(ChatErrorCodes.PayloadTooLarge, "The request body is too large.", innerException: e),
            BadHttpRequestException e => new ChatException(ChatErrorCodes.ValidationFailed, "The request is malformed.", new Dictionary<string, string[]> { ["body"] = [e.Message] }, innerException: e),
            _ => null,
        };
        if (chat is null)
        {
            return false;
        }

        await ChatProblems.WriteAsync(httpContext, chat).ConfigureAwait(false);
        return true;
    }
}
