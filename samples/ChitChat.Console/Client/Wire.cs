using System.Text.Json;
using System.Text.Json.Serialization;

namespace ChitChat.Cli.Client;

/// <summary>A message as PROTOCOL.md defines it.</summary>
public sealed record ChatMessageDto(string Id, string Room, long Seq, string AuthorId, string AuthorName, string Text, DateTimeOffset SentAt, string? ClientMessageId);

/// <summary>The result of <c>JoinRoom(room, afterSeq)</c>.</summary>
public sealed record JoinResultDto(string Room, long LastSeq, IReadOnlyList<ChatMessageDto> Missed, bool HasMore);

/// <summary>The ack of <c>SendMessage</c>.</summary>
public sealed record SendAckDto(string Id, long Seq, DateTimeOffset SentAt);

/// <summary>A room.</summary>
public sealed record RoomDto(string Id, string Name, DateTimeOffset CreatedAt);

/// <summary>A user online in a room.</summary>
public sealed record OnlineUserDto(string UserId, string UserName);

/// <summary>The <c>presence</c> event.</summary>
public sealed record PresenceDto(string Room, string UserId, string UserName, bool Online);

/// <summary>The <c>typing</c> event.</summary>
public sealed record TypingDto(string Room, string UserId, string UserName);

/// <summary>The user in a login answer.</summary>
public sealed record UserDto(string Id, string UserName);

/// <summary>The answer of <c>POST /api/auth/login</c>.</summary>
public sealed record LoginResponseDto(string AccessToken, DateTimeOffset ExpiresAt, UserDto User);

/// <summary>RFC 9457 problem details with ChitChat's <c>code</c> extension.</summary>
public sealed record ProblemDto(string? Type, string? Title, int? Status, string? Detail, string? Code, Dictionary<string, string[]>? Errors);

/// <summary>JSON settings shared by the HTTP calls, the hub and the <c>--json</c> output.</summary>
public static class Wire
{
    /// <summary>Gets camelCase web defaults.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
