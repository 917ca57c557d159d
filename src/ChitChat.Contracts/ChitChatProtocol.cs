namespace ChitChat.Contracts;

/// <summary>The paths of the ChitChat HTTP API and hub, relative to the server's base address.</summary>
public static class ChitChatRoutes
{
    /// <summary>The SignalR hub.</summary>
    public const string Hub = "/hubs/chat";

    /// <summary><c>POST</c>: register an account.</summary>
    public const string Register = "/api/auth/register";

    /// <summary><c>POST</c>: log in for a bearer token.</summary>
    public const string Login = "/api/auth/login";

    /// <summary><c>GET</c>: the server's limits (anonymous).</summary>
    public const string Limits = "/api/limits";

    /// <summary><c>GET</c>: list rooms; <c>POST</c>: create one.</summary>
    public const string Rooms = "/api/rooms";

    /// <summary>The messages of a room (<c>GET</c> history, <c>POST</c> send).</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The path, with the room name escaped.</returns>
    public static string Messages(string room)
    {
        ArgumentNullException.ThrowIfNull(room);
        return $"{Rooms}/{Uri.EscapeDataString(room)}/messages";
    }
}

/// <summary>The hub's method names (client to server).</summary>
public static class HubMethods
{
    /// <summary><c>JoinRoom(room, afterSeq?)</c> → <see cref="JoinRoomResult"/>.</summary>
    public const string JoinRoom = "JoinRoom";

    /// <summary><c>LeaveRoom(room)</c>.</summary>
    public const string LeaveRoom = "LeaveRoom";

    /// <summary><c>SendMessage(room, text, clientMessageId)</c> → <see cref="SendMessageAck"/>.</summary>
    public const string SendMessage = "SendMessage";

    /// <summary><c>GetHistory(room, beforeSeq?, afterSeq?, limit?)</c> → <see cref="MessageDto"/>[] ascending.</summary>
    public const string GetHistory = "GetHistory";

    /// <summary><c>GetPresence(room)</c> → <see cref="PresenceUser"/>[].</summary>
    public const string GetPresence = "GetPresence";

    /// <summary><c>Typing(room)</c>.</summary>
    public const string Typing = "Typing";
}

/// <summary>The hub's event names (server to client).</summary>
public static class HubEvents
{
    /// <summary>A new message (<see cref="MessageDto"/>).</summary>
    public const string Message = "message";

    /// <summary>A user came online in or left a room (<see cref="PresenceEvent"/>).</summary>
    public const string Presence = "presence";

    /// <summary>A user is typing (<see cref="TypingEvent"/>).</summary>
    public const string Typing = "typing";

    /// <summary>A member of a room was added or removed, or their role or mute changed (<see cref="MemberEvent"/>).</summary>
    public const string Member = "member";

    /// <summary>This connection was taken out of a room: its user was removed or banned (<see cref="RemovedEvent"/>).</summary>
    public const string Removed = "removed";
}
