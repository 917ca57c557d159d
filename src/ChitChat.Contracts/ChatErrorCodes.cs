namespace ChitChat.Contracts;

/// <summary>The stable error codes of the ChitChat protocol (HTTP problem details <c>code</c>, hub error prefix).</summary>
public static class ChatErrorCodes
{
    /// <summary>Input failed validation; the <c>errors</c> member has the details per field.</summary>
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
    /// <summary>Too many requests; retry after the <c>Retry-After</c> delay.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>The payload is larger than allowed.</summary>
    public const string PayloadTooLarge = "payload_too_large";
    /// <summary>A dependency (e.g. the primary store) is unavailable; retriable.</summary>
    public const string Unavailable = "unavailable";
    /// <summary>Too many rooms joined on one connection.</summary>
    public const string TooManyRooms = "too_many_rooms";
    /// <summary>The user does not exist, or is not a member of the room the operation targets (protocol version 2).</summary>
    public const string UserNotFound = "user_not_found";
    /// <summary>The message id is unknown in that room (HTTP 404).</summary>
    public const string MessageNotFound = "message_not_found";
}
