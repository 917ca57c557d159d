using System.Runtime.Serialization;

namespace ChitChat.Contracts;

/// <summary>The body of <c>POST /api/rooms</c>.</summary>
/// <param name="Name">The room name (a slug; not starting with <c>dm-</c>).</param>
/// <param name="Kind">The kind: <c>public</c> (the default) or <c>private</c>.</param>
/// <param name="Topic">The topic, or <see langword="null"/>.</param>
public sealed record CreateRoomBody(string? Name, string? Kind = null, string? Topic = null);

/// <summary>The body of <c>PATCH /api/rooms/{room}</c>.</summary>
/// <param name="Topic">The new topic; <see langword="null"/> or empty clears it.</param>
public sealed record UpdateRoomBody(string? Topic);

/// <summary>A room as the API shows it (protocol version 2).</summary>
/// <param name="Id">The room id.</param>
/// <param name="Name">The room name.</param>
/// <param name="Kind"><c>public</c>, <c>private</c> or <c>direct</c>.</param>
/// <param name="Topic">The topic, or <see langword="null"/>.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="CreatedBy">The creator's user id, or <see langword="null"/> for rooms of the system (<c>global</c>).</param>
/// <param name="LastSeq">The room's last sequence number (0 when empty).</param>
/// <param name="MemberCount">The number of members.</param>
[DataContract]
public sealed record RoomDto(
    [property: DataMember(Name = "id")] Guid Id,
    [property: DataMember(Name = "name")] string Name,
    [property: DataMember(Name = "kind")] string Kind,
    [property: DataMember(Name = "topic")] string? Topic,
    [property: DataMember(Name = "createdAt")] DateTime CreatedAt,
    [property: DataMember(Name = "createdBy")] Guid? CreatedBy,
    [property: DataMember(Name = "lastSeq")] long LastSeq,
    [property: DataMember(Name = "memberCount")] long MemberCount);

/// <summary>A room of the caller's room list (<c>GET /api/rooms</c>): the room and the caller's standing in it.</summary>
/// <param name="Id">The room id.</param>
/// <param name="Name">The room name.</param>
/// <param name="Kind"><c>public</c>, <c>private</c> or <c>direct</c>.</param>
/// <param name="Topic">The topic, or <see langword="null"/>.</param>
/// <param name="CreatedAt">When it was created (UTC).</param>
/// <param name="CreatedBy">The creator's user id, or <see langword="null"/>.</param>
/// <param name="LastSeq">The room's last sequence number.</param>
/// <param name="MemberCount">The number of members.</param>
/// <param name="Role">The caller's role (<c>owner</c>, <c>moderator</c>, <c>member</c>), or <see langword="null"/> for a public room the caller has not joined.</param>
/// <param name="LastReadSeq">The caller's read marker (0 until read state exists).</param>
/// <param name="Unread">Unread messages (0 until read state exists).</param>
/// <param name="Mentions">Unread messages mentioning the caller (0 until read state exists).</param>
[DataContract]
public sealed record RoomListEntryDto(
    [property: DataMember(Name = "id")] Guid Id,
    [property: DataMember(Name = "name")] string Name,
    [property: DataMember(Name = "kind")] string Kind,
    [property: DataMember(Name = "topic")] string? Topic,
    [property: DataMember(Name = "createdAt")] DateTime CreatedAt,
    [property: DataMember(Name = "createdBy")] Guid? CreatedBy,
    [property: DataMember(Name = "lastSeq")] long LastSeq,
    [property: DataMember(Name = "memberCount")] long MemberCount,
    [property: DataMember(Name = "role")] string? Role,
    [property: DataMember(Name = "lastReadSeq")] long LastReadSeq,
    [property: DataMember(Name = "unread")] long Unread,
    [property: DataMember(Name = "mentions")] long Mentions);

/// <summary>A member of a room (<c>GET /api/rooms/{room}/members</c>).</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
/// <param name="Role"><c>owner</c>, <c>moderator</c> or <c>member</c>.</param>
/// <param name="MutedUntil">Until when the member is muted, or <see langword="null"/>.</param>
[DataContract]
public sealed record MemberDto(
    [property: DataMember(Name = "userId")] Guid UserId,
    [property: DataMember(Name = "userName")] string UserName,
    [property: DataMember(Name = "role")] string Role,
    [property: DataMember(Name = "mutedUntil")] DateTime? MutedUntil);

/// <summary>The body of <c>POST /api/rooms/{room}/members</c>.</summary>
/// <param name="UserName">The user to add (the caller's own name to join a public room).</param>
public sealed record AddMemberBody(string? UserName);

/// <summary>The body of <c>PATCH /api/rooms/{room}/members/{userName}</c>: a role, a mute, or both (applied together or not at all).</summary>
/// <param name="Role"><c>owner</c>, <c>moderator</c> or <c>member</c>; absent keeps the role.</param>
/// <param name="MutedUntil">Until when the member is muted (UTC, in the future); <see langword="null"/> lifts a mute; absent keeps it.</param>
public sealed record UpdateMemberBody(string? Role = null, DateTime? MutedUntil = null);

/// <summary>The body of <c>PUT /api/rooms/{room}/bans/{userName}</c> (optional: no body is a permanent ban without a reason).</summary>
/// <param name="Until">When the ban ends (UTC, in the future), or <see langword="null"/> for a permanent ban.</param>
/// <param name="Reason">The reason, or <see langword="null"/>.</param>
public sealed record BanBody(DateTime? Until = null, string? Reason = null);

/// <summary>A ban in force (<c>GET /api/rooms/{room}/bans</c>).</summary>
/// <param name="UserId">The user id.</param>
/// <param name="UserName">The user name.</param>
/// <param name="Until">When the ban ends, or <see langword="null"/> for a permanent ban.</param>
/// <param name="Reason">The reason, or <see langword="null"/>.</param>
public sealed record BanDto(Guid UserId, string UserName, DateTime? Until, string? Reason);

/// <summary>The body of <c>POST /api/direct</c>.</summary>
/// <param name="UserNames">The other people of the direct room (1 to <c>ChitChat:MaxDirectMembers</c> - 1).</param>
public sealed record CreateDirectBody(string[]? UserNames);

/// <summary>A user of the directory (<c>GET /api/users</c>, <c>GET /api/users/me</c>).</summary>
/// <param name="Id">The user id.</param>
/// <param name="UserName">The user name.</param>
/// <param name="FirstName">The first name, or <see langword="null"/>.</param>
/// <param name="LastName">The last name, or <see langword="null"/>.</param>
public sealed record UserProfileDto(Guid Id, string UserName, string? FirstName, string? LastName);
