using System.Runtime.Serialization;

namespace ChitChat.Contracts;

/// <summary>The <c>member</c> event: a member of the room was added or removed, or their role or mute changed. It takes no
/// <c>seq</c>; clients keep their member lists current with it.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The member's user id.</param>
/// <param name="UserName">The member's user name.</param>
/// <param name="Role">The member's role after the change (the last one, for a removal): <c>owner</c>, <c>moderator</c> or <c>member</c>.</param>
/// <param name="Change">What changed, one of <see cref="MemberChanges"/>.</param>
[DataContract]
public sealed record MemberEvent(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "userId")] Guid UserId,
    [property: DataMember(Name = "userName")] string UserName,
    [property: DataMember(Name = "role")] string Role,
    [property: DataMember(Name = "change")] string Change);

/// <summary>The <c>removed</c> event, sent only to the connections of a user who was removed from or banned in a room: they
/// receive nothing more of the room. It takes no <c>seq</c>; the connection stays open for other rooms.</summary>
/// <param name="Room">The room name.</param>
/// <param name="Reason">Why: <c>removed</c>, <c>banned</c>, <c>left</c> or a moderator's reason.</param>
[DataContract]
public sealed record RemovedEvent(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "reason")] string Reason);

/// <summary>The values of <see cref="MemberEvent.Change"/>.</summary>
public static class MemberChanges
{
    /// <summary>The user became a member.</summary>
    public const string Added = "added";

    /// <summary>The user is no longer a member (left or was removed).</summary>
    public const string Removed = "removed";

    /// <summary>The member's role changed.</summary>
    public const string Role = "role";

    /// <summary>The member was muted or the mute was lifted.</summary>
    public const string Muted = "muted";

    /// <summary>The user was removed and barred from rejoining.</summary>
    public const string Banned = "banned";
}
