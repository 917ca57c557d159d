using System.Runtime.Serialization;

namespace ChitChat.Contracts;

/// <summary>A user online in a room (an item of the hub's <c>GetPresence</c>).</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
[DataContract]
public sealed record PresenceUser(
    [property: DataMember(Name = "userId")] Guid UserId,
    [property: DataMember(Name = "userName")] string UserName);

/// <summary>The <c>presence</c> event.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
/// <param name="Online"><see langword="true"/> when the user came online in the room.</param>
[DataContract]
public sealed record PresenceEvent(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "userId")] Guid UserId,
    [property: DataMember(Name = "userName")] string UserName,
    [property: DataMember(Name = "online")] bool Online);

/// <summary>The <c>typing</c> event.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
[DataContract]
public sealed record TypingEvent(
    [property: DataMember(Name = "room")] string Room,
    [property: DataMember(Name = "userId")] Guid UserId,
    [property: DataMember(Name = "userName")] string UserName);
