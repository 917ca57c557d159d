namespace ChitChat.Membership;

/// <summary>
/// A user's standing in an existing room: the resource access control decides on (and the resource an ASP.NET Core
/// authorization handler receives). Read by <see cref="MembershipService.GetAccessAsync"/>.
/// </summary>
/// <param name="User">The user.</param>
/// <param name="Room">The room. Its <see cref="ChatRoom.Topic"/> and versions may be stale (rooms are cached); its name and kind never change.</param>
/// <param name="Membership">The user's membership in any state, or <see langword="null"/> when they never had one.</param>
public sealed record RoomAccess(ChatIdentity User, ChatRoom Room, RoomMembership? Membership)
{
    /// <summary>Gets a value indicating whether the user is a member (state <see cref="MembershipState.Member"/>).</summary>
    public bool IsMember => Membership is { IsMember: true };

    /// <summary>Gets the user's role, or <see langword="null"/> when not a member.</summary>
    public MemberRole? Role => IsMember ? Membership!.Role : null;

    /// <summary>Gets a value indicating whether the room is invisible to the user: a private or direct room they are not a member of.</summary>
    public bool IsInvisible => Room.Kind != RoomKind.Public && !IsMember;
}

/// <summary>A room about to be created: the resource of <see cref="RoomOperation.Create"/>.</summary>
/// <param name="User">The creator.</param>
/// <param name="Name">The room name.</param>
/// <param name="Kind">The kind (<see cref="RoomKind.Public"/> or <see cref="RoomKind.Private"/>; direct rooms are created by <see cref="MembershipService.GetOrCreateDirectAsync"/>).</param>
/// <param name="Topic">The topic, or <see langword="null"/>.</param>
public sealed record RoomCreation(ChatIdentity User, RoomName Name, RoomKind Kind, string? Topic);
