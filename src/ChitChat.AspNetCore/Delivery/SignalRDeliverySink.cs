using ChitChat.Contracts;
using ChitChat.AspNetCore.Http;
using ChitChat.AspNetCore.Hubs;
using ChitChat.Delivery;
using ChitChat.Transport;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace ChitChat.AspNetCore.Delivery;

/// <summary>
/// The delivery engine's sink for <see cref="ChatHub"/> connections: a room's hub members are the SignalR group named
/// after the room, and each event is sent once to that group, so SignalR serializes it once per hub protocol, never per
/// recipient. What reaches the group, and when, is the engine's decision (<see cref="DeliveryEngine"/>).
/// </summary>
internal sealed partial class SignalRDeliverySink(IHubContext<ChatHub> hub, ILogger<SignalRDeliverySink> logger) : IDeliverySink
{
    public ValueTask AddAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default) =>
        new(hub.Groups.AddToGroupAsync(connection.ConnectionId, room, cancellationToken));

    public ValueTask RemoveAsync(string room, ClientConnection connection, CancellationToken cancellationToken = default) =>
        new(hub.Groups.RemoveFromGroupAsync(connection.ConnectionId, room, cancellationToken));

    public void Deliver(string room, RoomEvent roomEvent)
    {
        switch (roomEvent)
        {
            case MessagePosted posted:
                Send(room, HubEvents.Message, posted.Message.ToDto());
                break;
            case MessageUpdated updated:
                Send(room, HubEvents.MessageUpdated, updated.ToDto());
                break;
            case ReadMarkerMoved read:
                // The user's channel: every connection of the user but the one that moved the marker.
                Send(room, HubEvents.Read, new ReadEvent(read.ChatRoom, read.Seq), read.ExceptConnectionId);
                break;
            case UserMentioned mentioned:
                Send(room, HubEvents.Mention, new MentionEvent(mentioned.Message.Room, mentioned.Message.ToDto()));
                break;
            case PresenceChanged p:
                Send(room, HubEvents.Presence, new PresenceEvent(p.Room, p.UserId, p.UserName, p.Online));
                break;
            case UserTyping t:
                Send(room, HubEvents.Typing, new TypingEvent(t.Room, t.UserId, t.UserName));
                break;
            case MembershipChanged m:
                Send(room, HubEvents.Member, new MemberEvent(m.Room, m.UserId, m.UserName, RoleName(m.Role), ChangeName(m.Change)));
                break;
        }
    }

    public void DeliverRemoved(string room, IReadOnlyList<ClientConnection> connections, string reason)
    {
        // The engine removed these connections from the room's group (awaited; for a local connection the default hub
        // lifetime manager removes it synchronously) before this call, so the room's later group sends skip them; this
        // send goes to exactly them and, written to each connection after the room's earlier sends, is the last of the room.
        Task send;
        try
        {
            send = hub.Clients.Clients([.. connections.Select(c => c.ConnectionId)]).SendAsync(HubEvents.Removed, new RemovedEvent(room, reason), CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogSendFailed(room, ex);
            return;
        }

        if (!send.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(room, send);
        }
    }

    /// <summary>The protocol's name of a role (<c>owner</c>, <c>moderator</c>, <c>member</c>).</summary>
    internal static string RoleName(MemberRole role) => role switch
    {
        MemberRole.Owner => "owner",
        MemberRole.Moderator => "moderator",
        _ => "member",
    };

    /// <summary>The protocol's name of a member change (<see cref="MemberChanges"/>).</summary>
    internal static string ChangeName(MemberChange change) => change switch
    {
        MemberChange.Added => MemberChanges.Added,
        MemberChange.Removed => MemberChanges.Removed,
        MemberChange.Role => MemberChanges.Role,
        MemberChange.Muted => MemberChanges.Muted,
        MemberChange.Banned => MemberChanges.Banned,
        _ => change.ToString().ToLowerInvariant(),
    };

    private void Send(string room, string method, object payload, string? exceptConnectionId = null)
    {
        // Not awaited: SignalR starts the write to every connection of the group synchronously and in call order, so
        // per-connection order holds, while a stalled connection's pending write never holds up the room.
        Task send;
        try
        {
            var group = exceptConnectionId is null ? hub.Clients.Group(room) : hub.Clients.GroupExcept(room, exceptConnectionId);
            send = group.SendAsync(method, payload, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogSendFailed(room, ex);
            return;
        }

        if (!send.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(room, send);
        }
    }

    private async Task ObserveAsync(string room, Task send)
    {
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogSendFailed(room, ex);
        }
    }

    [LoggerMessage(EventId = 6105, EventName = "DeliveryFailed", Level = LogLevel.Warning, Message = "Room {Room}: handing an event to the SignalR group failed.")]
    private partial void LogSendFailed(string room, Exception exception);
}
