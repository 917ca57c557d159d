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

    /// <summary><c>GET</c>: full-text search over the rooms the caller may read (<c>?q=&amp;room=&amp;limit=&amp;before=</c>).</summary>
    public const string Search = "/api/search";

    /// <summary>The messages of a room (<c>GET</c> history, <c>POST</c> send).</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The path, with the room name escaped.</returns>
    public static string Messages(string room)
    {
        ArgumentNullException.ThrowIfNull(room);
        return $"{Rooms}/{Uri.EscapeDataString(room)}/messages";
    }

    /// <summary>One message of a room (<c>PATCH</c> edit, <c>DELETE</c> delete).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <returns>The path.</returns>
    public static string Message(string room, Guid id) => $"{Messages(room)}/{id:D}";

    /// <summary>A user's reaction to a message (<c>PUT</c> react, <c>DELETE</c> unreact).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The message id.</param>
    /// <param name="emoji">The emoji.</param>
    /// <returns>The path, with the emoji escaped.</returns>
    public static string Reaction(string room, Guid id, string emoji)
    {
        ArgumentNullException.ThrowIfNull(emoji);
        return $"{Message(room, id)}/reactions/{Uri.EscapeDataString(emoji)}";
    }

    /// <summary>The thread of a root message (<c>GET</c>, <c>?after=&amp;limit=</c>).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="id">The root message's id.</param>
    /// <returns>The path.</returns>
    public static string Replies(string room, Guid id) => $"{Message(room, id)}/replies";

    /// <summary>The room's event sequence (<c>GET</c>, <c>?after=&amp;limit=</c>).</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The path.</returns>
    public static string Events(string room)
    {
        ArgumentNullException.ThrowIfNull(room);
        return $"{Rooms}/{Uri.EscapeDataString(room)}/events";
    }

    /// <summary>The caller's read marker in a room (<c>PUT</c> <see cref="MarkReadBody"/>).</summary>
    /// <param name="room">The room name.</param>
    /// <returns>The path.</returns>
    public static string Read(string room)
    {
        ArgumentNullException.ThrowIfNull(room);
        return $"{Rooms}/{Uri.EscapeDataString(room)}/read";
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

    /// <summary><c>EditMessage(room, id, text)</c> → <see cref="MessageDto"/> (the message in its new state).</summary>
    public const string EditMessage = "EditMessage";

    /// <summary><c>DeleteMessage(room, id)</c>.</summary>
    public const string DeleteMessage = "DeleteMessage";

    /// <summary><c>React(room, id, emoji)</c>.</summary>
    public const string React = "React";

    /// <summary><c>Unreact(room, id, emoji)</c>.</summary>
    public const string Unreact = "Unreact";

    /// <summary><c>Reply(room, replyTo, text, clientMessageId)</c> → <see cref="SendMessageAck"/>.</summary>
    public const string Reply = "Reply";

    /// <summary><c>GetReplies(room, id, afterSeq?, limit?)</c> → <see cref="MessageDto"/>[] ascending (the thread of a root).</summary>
    public const string GetReplies = "GetReplies";

    /// <summary><c>GetEvents(room, afterSeq, limit?)</c> → <see cref="RoomEventDto"/>[] ascending.</summary>
    public const string GetEvents = "GetEvents";

    /// <summary><c>MarkRead(room, seq)</c>.</summary>
    public const string MarkRead = "MarkRead";
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

    /// <summary>A message was edited or deleted or its reactions changed (<see cref="MessageUpdatedEvent"/>).</summary>
    public const string MessageUpdated = "messageUpdated";

    /// <summary>The user's read marker moved on another of their connections (<see cref="ReadEvent"/>).</summary>
    public const string Read = "read";

    /// <summary>A message mentions the user (<see cref="MentionEvent"/>).</summary>
    public const string Mention = "mention";
}
