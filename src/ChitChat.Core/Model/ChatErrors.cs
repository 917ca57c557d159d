namespace ChitChat;

/// <summary>The stable error codes of the ChitChat protocol (HTTP problem details <c>code</c>, hub error prefix).</summary>
public static class ChatErrorCodes
{
    /// <summary>Input failed validation; <see cref="ChatException.Errors"/> has the details per field.</summary>
    public const string ValidationFailed = "validation_failed";
    /// <summary>The user name is taken.</summary>
    public const string UserExists = "user_exists";
    /// <summary>Unknown user name or wrong password.</summary>
    public const string InvalidCredentials = "invalid_credentials";
    /// <summary>No valid identity.</summary>
    public const string Unauthorized = "unauthorized";
    /// <summary>Identity known but not allowed.</summary>
    public const string Forbidden = "forbidden";
    /// <summary>The room name is taken.</summary>
    public const string RoomExists = "room_exists";
    /// <summary>The room does not exist.</summary>
    public const string RoomNotFound = "room_not_found";
    /// <summary>Too many requests; retry after <see cref="ChatException.RetryAfter"/>.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>The payload is larger than allowed.</summary>
    public const string PayloadTooLarge = "payload_too_large";
    /// <summary>A dependency (e.g. the primary store) is unavailable; retriable.</summary>
    public const string Unavailable = "unavailable";
    /// <summary>Too many rooms joined on one connection.</summary>
    public const string TooManyRooms = "too_many_rooms";
}

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
