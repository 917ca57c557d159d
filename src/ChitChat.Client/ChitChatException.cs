using System.Net;
using ChitChat.Contracts;

namespace ChitChat.Client;

/// <summary>
/// An error the ChitChat server reported (over HTTP or the hub), already parsed: the application reads
/// <see cref="Code"/>, <see cref="Errors"/>, <see cref="RetryAfter"/> and <see cref="StatusCode"/>, never the message.
/// </summary>
public sealed class ChitChatException : Exception
{
    private static readonly IReadOnlyDictionary<string, string[]> NoErrors = new Dictionary<string, string[]>();

    /// <summary>Initializes a new instance.</summary>
    /// <param name="code">The error code: one of <see cref="ChatErrorCodes"/>, <c>internal_error</c>, or <c>http_&lt;status&gt;</c> when the server sent none.</param>
    /// <param name="message">The server's message, for people.</param>
    /// <param name="statusCode">The HTTP status, or <see langword="null"/> for a hub error.</param>
    /// <param name="retryAfter">How long to wait before retrying, when known.</param>
    /// <param name="errors">The validation errors per field, when known.</param>
    /// <param name="innerException">The cause.</param>
    public ChitChatException(string code, string message, HttpStatusCode? statusCode = null, TimeSpan? retryAfter = null, IReadOnlyDictionary<string, string[]>? errors = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        Code = code;
        StatusCode = statusCode;
        RetryAfter = retryAfter;
        Errors = errors ?? NoErrors;
    }

    /// <summary>Gets the stable error code (compare with the constants of <see cref="ChatErrorCodes"/>).</summary>
    public string Code { get; }

    /// <summary>Gets the HTTP status code, or <see langword="null"/> when the error came over the hub.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>
    /// Gets how long to wait before retrying (<c>rate_limited</c>, <c>unavailable</c>): the <c>Retry-After</c> header over
    /// HTTP. Over the hub the server does not send the delay; for <c>rate_limited</c> the client then reports the server's
    /// send rate window (<c>GET /api/limits</c>), an upper bound.
    /// </summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Gets the validation errors per field (camelCase field names, as on the wire); empty when there are none.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    /// <summary>Gets a value indicating whether retrying later may succeed (<c>rate_limited</c>, <c>unavailable</c>).</summary>
    public bool IsTransient => Code is ChatErrorCodes.RateLimited or ChatErrorCodes.Unavailable;
}
