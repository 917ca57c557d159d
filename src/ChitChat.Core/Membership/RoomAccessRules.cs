using ChitChat.Contracts;

namespace ChitChat.Membership;

/// <summary>
/// ChitChat's access rules (protocol version 2), in one place: every service and every surface asks these, never decides on
/// its own. Each check returns the error the caller must get, or <see langword="null"/> when the operation is allowed.
/// </summary>
public static class RoomAccessRules
{
    /// <summary>The error of a room that does not exist or that the caller may not see: the same code and text either way,
    /// so that a private room's existence never leaks.</summary>
    /// <param name="room">The room name as the caller gave it (normalized).</param>
    /// <returns>The error.</returns>
    public static ChatException RoomNotFound(string room) =>
        new(ChatErrorCodes.RoomNotFound, $"The room '{room}' does not exist.");

    /// <summary>The error of an unknown user, or of a user who is not a member of the room an operation targets.</summary>
    /// <param name="userName">The user name as given.</param>
    /// <returns>The error.</returns>
    public static ChatException UserNotFound(string userName) =>
        new(ChatErrorCodes.UserNotFound, $"The user '{userName}' does not exist or is not a member of this room.");

    /// <summary>Decides whether <see cref="RoomAccess.User"/> may perform <paramref name="operation"/> on the room.</summary>
    /// <param name="access">The user's standing in the room.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="now">The current time (mutes and bans expire).</param>
    /// <returns>The error to report, or <see langword="null"/> when allowed.</returns>
    public static ChatException? Check(RoomAccess access, RoomOperation operation, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(access);

        // Invisibility wins over everything, bans included.
        if (access.IsInvisible)
        {
            return RoomNotFound(access.Room.Name);
        }

        if (operation == RoomOperation.Create)
        {
            return null;
        }

        if (access.Membership is { } banned && banned.IsBannedAt(now))
        {
            return new ChatException(ChatErrorCodes.Forbidden, $"You are banned from the room '{access.Room.Name}'.");
        }

        var direct = access.Room.Kind == RoomKind.Direct;
        switch (operation)
        {
            case RoomOperation.Read:
            case RoomOperation.Join:
                return null;

            case RoomOperation.Send:
                return access.IsMember && access.Membership!.IsMutedAt(now)
                    ? new ChatException(ChatErrorCodes.Forbidden, $"You are muted in the room '{access.Room.Name}' until {access.Membership.MutedUntil:O}.")
                    : null;

            case RoomOperation.Leave:
                if (!access.IsMember)
                {
                    return UserNotFound(access.User.UserName);
                }

                return direct ? new ChatException(ChatErrorCodes.Forbidden, "The members of a direct room are fixed; nobody can leave it.") : null;

            case RoomOperation.UpdateTopic:
            case RoomOperation.AddMember:
            case RoomOperation.Moderate:
                if (direct)
                {
                    return NoModerationInDirectRooms();
                }

                return access.Role is MemberRole.Owner or MemberRole.Moderator
                    ? null
                    : new ChatException(ChatErrorCodes.Forbidden, "Only an owner or a moderator of the room may do this.");

            case RoomOperation.ManageRoles:
                if (direct)
                {
                    return NoModerationInDirectRooms();
                }

                return access.Role == MemberRole.Owner
                    ? null
                    : new ChatException(ChatErrorCodes.Forbidden, "Only an owner of the room may change roles.");

            default:
                return new ChatException(ChatErrorCodes.Forbidden, "The operation is not allowed.");
        }
    }

    /// <summary>Decides whether an owner or moderator may remove, mute or ban <paramref name="target"/>: a moderator may not act on
    /// an owner or another moderator.</summary>
    /// <param name="actorRole">The acting member's role.</param>
    /// <param name="target">The target's membership (a member).</param>
    /// <returns>The error to report, or <see langword="null"/> when allowed.</returns>
    public static ChatException? CheckModerationTarget(MemberRole actorRole, RoomMembership target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return actorRole != MemberRole.Owner && target.IsMember && target.Role >= MemberRole.Moderator
            ? new ChatException(ChatErrorCodes.Forbidden, "A moderator may not act on an owner or another moderator.")
            : null;
    }

    private static ChatException NoModerationInDirectRooms() =>
        new(ChatErrorCodes.Forbidden, "A direct room has no moderation: its members are fixed and equal.");
}
