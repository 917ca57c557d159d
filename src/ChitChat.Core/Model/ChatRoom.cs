namespace ChitChat;

/// <summary>A chat room. Its <see cref="Name"/> is a lower-case slug and is the room's key everywhere.</summary>
/// <param name="Id">The stable identifier of the room.</param>
/// <param name="Name">The room name: a lower-case slug of <c>[a-z0-9_-]</c>, 1 to 64 characters.</param>
/// <param name="CreatedBy">The id of the user who created the room, or <see langword="null"/> for rooms created by the system.</param>
/// <param name="CreatedAt">When the room was created (server time, UTC).</param>
/// <param name="Version">The document version; starts at 1.</param>
public sealed record ChatRoom(
    Guid Id,
    string Name,
    Guid? CreatedBy,
    DateTimeOffset CreatedAt,
    long Version);
