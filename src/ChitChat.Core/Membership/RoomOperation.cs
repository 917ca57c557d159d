namespace ChitChat.Membership;

/// <summary>The operations on a room that access control decides on (see <see cref="RoomAccessRules"/>).</summary>
public enum RoomOperation
{
    /// <summary>Create a room (the resource is a <see cref="RoomCreation"/>).</summary>
    Create = 0,

    /// <summary>See the room: get it, read its history, members, presence; typing; leave it on a connection.</summary>
    Read = 1,

    /// <summary>Join it (become a member of a public room; subscribe to its events).</summary>
    Join = 2,

    /// <summary>Send a message (a mute blocks it).</summary>
    Send = 3,

    /// <summary>Change the room's topic (owner or moderator).</summary>
    UpdateTopic = 4,

    /// <summary>Add another user as a member (owner or moderator).</summary>
    AddMember = 5,

    /// <summary>Remove, mute, ban or unban a member, list the bans (owner or moderator).</summary>
    Moderate = 6,

    /// <summary>Change members' roles (owner).</summary>
    ManageRoles = 7,

    /// <summary>Leave the room (a member).</summary>
    Leave = 8,
}
