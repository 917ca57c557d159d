using System.Security.Cryptography;
using System.Text;

namespace ChitChat;

/// <summary>The role of a member in a room. Ordered by rank: a higher value outranks a lower one.</summary>
public enum MemberRole
{
    /// <summary>A plain member.</summary>
    Member = 0,

    /// <summary>May moderate: add, remove, mute and ban members (not owners or other moderators), change the topic.</summary>
    Moderator = 1,

    /// <summary>May do everything a moderator may, and change roles.</summary>
    Owner = 2,
}

/// <summary>The state of a user's relation to a room. A membership is never deleted: leaving, removal, a ban and its lifting
/// are versioned states of the same document, so they replicate like any change (last writer wins by version).</summary>
public enum MembershipState
{
    /// <summary>A member of the room.</summary>
    Member = 0,

    /// <summary>Was a member and left.</summary>
    Left = 1,

    /// <summary>Was removed by a moderator or owner (or a ban was lifted): not a member, may be added or join again.</summary>
    Removed = 2,

    /// <summary>Removed and barred from rejoining until <see cref="RoomMembership.BannedUntil"/> (forever when <see langword="null"/>).</summary>
    Banned = 3,
}

/// <summary>One user's membership of one room: the single document per (room, user) that holds their state, role, mute and ban.</summary>
/// <param name="Room">The room name.</param>
/// <param name="UserId">The user's id.</param>
/// <param name="UserName">The user's name as at the last change (for listings without a user lookup).</param>
/// <param name="State">The state.</param>
/// <param name="Role">The role (meaningful while <paramref name="State"/> is <see cref="MembershipState.Member"/>).</param>
/// <param name="MutedUntil">Until when the member may not send, edit or react; <see langword="null"/> when not muted.</param>
/// <param name="BannedUntil">Until when a ban lasts; <see langword="null"/> for a permanent ban (or no ban).</param>
/// <param name="BanReason">The reason given for a ban, or <see langword="null"/>.</param>
/// <param name="UpdatedAt">When the membership was last changed (server time, UTC).</param>
/// <param name="Version">The document version; starts at 1 and grows with every change (last writer wins in replication).</param>
public sealed record RoomMembership(
    string Room,
    Guid UserId,
    string UserName,
    MembershipState State,
    MemberRole Role,
    DateTimeOffset? MutedUntil,
    DateTimeOffset? BannedUntil,
    string? BanReason,
    DateTimeOffset UpdatedAt,
    long Version)
{
    /// <summary>Gets the document id: derived from (room, user) by <see cref="IdFor"/>, the same on every node.</summary>
    public Guid Id => IdFor(Room, UserId);

    /// <summary>Gets a value indicating whether the user is a member (<see cref="MembershipState.Member"/>).</summary>
    public bool IsMember => State == MembershipState.Member;

    /// <summary>Derives the id of the membership of <paramref name="userId"/> in <paramref name="room"/>: the first 16 bytes of
    /// the SHA-256 of <c>room '\n' userId</c>, so replicas and anti-entropy identify the document without a lookup.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userId">The user id.</param>
    /// <returns>The id.</returns>
    public static Guid IdFor(string room, Guid userId)
    {
        ArgumentNullException.ThrowIfNull(room);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(room + "\n" + userId.ToString("D", System.Globalization.CultureInfo.InvariantCulture)));
        return new Guid(hash.AsSpan(0, 16));
    }

    /// <summary>Creates a new membership (version 1) with state <see cref="MembershipState.Member"/>.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userId">The user id.</param>
    /// <param name="userName">The user name.</param>
    /// <param name="role">The role.</param>
    /// <param name="now">The time of the change.</param>
    /// <returns>The membership.</returns>
    public static RoomMembership Join(string room, Guid userId, string userName, MemberRole role, DateTimeOffset now) =>
        new(room, userId, userName, MembershipState.Member, role, null, null, null, now, 1);

    /// <summary>Gets whether the user is banned at <paramref name="now"/> (state <see cref="MembershipState.Banned"/>, ban not expired).</summary>
    /// <param name="now">The current time.</param>
    /// <returns><see langword="true"/> when banned.</returns>
    public bool IsBannedAt(DateTimeOffset now) => State == MembershipState.Banned && (BannedUntil is null || BannedUntil > now);

    /// <summary>Gets whether the member is muted at <paramref name="now"/>.</summary>
    /// <param name="now">The current time.</param>
    /// <returns><see langword="true"/> when muted.</returns>
    public bool IsMutedAt(DateTimeOffset now) => MutedUntil is { } until && until > now;

    /// <summary>Returns the next version of this membership (version + 1, <paramref name="now"/> as <see cref="UpdatedAt"/>)
    /// after <paramref name="change"/>: the way every change of a stored membership is made.</summary>
    /// <param name="now">The time of the change.</param>
    /// <param name="change">The change, applied to a copy.</param>
    /// <returns>The new version.</returns>
    public RoomMembership Next(DateTimeOffset now, Func<RoomMembership, RoomMembership> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return change(this) with { UpdatedAt = now, Version = Version + 1 };
    }
}

/// <summary>One entry of a user's room list (<see cref="Storage.IRoomStore.ListForUserAsync"/>).</summary>
/// <param name="Room">The room.</param>
/// <param name="Membership">The user's membership when they are a member; <see langword="null"/> for a public room they have not joined.</param>
/// <param name="LastSeq">The room's last sequence number (0 when empty).</param>
/// <param name="MemberCount">The number of members (state <see cref="MembershipState.Member"/>).</param>
public sealed record RoomListEntry(ChatRoom Room, RoomMembership? Membership, long LastSeq, long MemberCount)
{
    /// <summary>Gets the user's role, or <see langword="null"/> when not a member.</summary>
    public MemberRole? Role => Membership?.Role;

    /// <summary>Gets the user's read marker in the room (<see cref="ReadMarker.Seq"/>; 0 when none), for a member; 0 otherwise.</summary>
    public long ReadSeq { get; init; }

    /// <summary>Gets, for a member, the number of messages by others with <c>seq</c> above <see cref="ReadSeq"/> that are not
    /// deleted (computed by the store from an index); 0 for a public room the user has not joined.</summary>
    public long Unread { get; init; }

    /// <summary>Gets, for a member, how many of the <see cref="Unread"/> messages mention the user; 0 otherwise.</summary>
    public long Mentions { get; init; }
}
