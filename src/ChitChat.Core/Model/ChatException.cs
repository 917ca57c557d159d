using ChitChat.Contracts;

namespace ChitChat;

/// <summary>A typed, user-facing ChitChat error. <see cref="Code"/> is one of <see cref="ChatErrorCodes"/>.</summary>
public class ChatException : Exception
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="code">The error code (see <see cref="ChatErrorCodes"/>).</param>
    /// <param name="message">A human-readable message.</param>
    /// <param name="errors">Per-field validation errors, when <paramref name="code"/> is <see cref="ChatErrorCodes.ValidationFailed"/>.</param>
    /// <param name="retryAfter">For retriable errors, how long the caller should wait.</param>
    /// <param name="innerException">The cause.</param>
    public ChatException(string code, string message, IReadOnlyDictionary<string, string[]>? errors = null, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        Code = code;
        Errors = errors;
        RetryAfter = retryAfter;
    }

    /// <summary>Gets the stable error code.</summary>
    public string Code { get; }

    /// <summary>Gets per-field validation errors, or <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; }

    /// <summary>Gets how long to wait before retrying, for retriable errors.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Creates a <see cref="ChatErrorCodes.ValidationFailed"/> error for one field.</summary>
    /// <param name="field">The field name (camelCase, as on the wire).</param>
    /// <param name="message">What is wrong.</param>
    /// <returns>The exception.</returns>
    public static ChatException Validation(string field, string message) =>
        new(ChatErrorCodes.ValidationFailed, message, new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>Thrown by a store when it cannot be reached; maps to <see cref="ChatErrorCodes.Unavailable"/> (HTTP 503 with Retry-After).</summary>
public sealed class ChatStoreUnavailableException : ChatException
{
    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What is unavailable.</param>
    /// <param name="retryAfter">A suggested delay before retrying.</param>
    /// <param name="innerException">The cause.</param>
    public ChatStoreUnavailableException(string message, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(ChatErrorCodes.Unavailable, message, null, retryAfter ?? TimeSpan.FromSeconds(5), innerException)
    {
    }
}
