using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Http;

/// <summary>The one place that turns the domain model into the wire contracts of <c>ChitChat.Contracts</c>.</summary>
internal static class WireMapping
{
    public static MessageDto ToDto(this ChatMessage message) =>
        new(message.Id, message.Room, message.Seq, message.AuthorId, message.AuthorName, message.Text, message.SentAt.UtcDateTime, message.ClientMessageId)
        {
            EditedAt = message.EditedAt?.UtcDateTime,
            Deleted = message.Deleted,
            ReplyTo = message.ReplyTo,
            ThreadRoot = message.ThreadRoot,
            ReplyCount = message.ReplyCount,
            Reactions = message.Reactions.Count == 0 ? [] : [.. message.Reactions.Select(static r => new ReactionDto(r.Emoji, r.Count, r.UserIds))],
            Mentions = message.Mentions,
        };

    public static string ToWire(MessageChange change) => change switch
    {
        MessageChange.Edited => MessageChanges.Edited,
        MessageChange.Deleted => MessageChanges.Deleted,
        _ => MessageChanges.Reactions,
    };

    public static MessageUpdatedEvent ToDto(this ChitChat.Transport.MessageUpdated updated) =>
        new(updated.Message.Room, updated.Seq, ToWire(updated.Change), updated.Message.ToDto());

    public static MessageUpdatedEvent ToUpdatedDto(this MessageEvent e) =>
        new(e.Message.Room, e.Seq, ToWire(e.Change ?? MessageChange.Edited), e.Message.ToDto());

    public static RoomEventDto ToDto(this MessageEvent e) => e.Kind == MessageEventKind.Posted
        ? new(RoomEventTypes.Message, e.Seq, e.Message.ToDto(), null)
        : new(RoomEventTypes.MessageUpdated, e.Seq, e.Message.ToDto(), ToWire(e.Change ?? MessageChange.Edited));

    public static RoomDto ToDto(this ChatRoom room, long lastSeq, long memberCount) =>
        new(room.Id, room.Name, ToWire(room.Kind), room.Topic, room.CreatedAt.UtcDateTime, room.CreatedBy, lastSeq, memberCount);

    public static RoomDto ToDto(this RoomListEntry entry) => entry.Room.ToDto(entry.LastSeq, entry.MemberCount);

    // The store derives the read state (0 for a public room the caller has not joined).
    public static RoomListEntryDto ToListDto(this RoomListEntry entry) =>
        new(entry.Room.Id, entry.Room.Name, ToWire(entry.Room.Kind), entry.Room.Topic, entry.Room.CreatedAt.UtcDateTime, entry.Room.CreatedBy,
            entry.LastSeq, entry.MemberCount, entry.Role is { } role ? ToWire(role) : null, entry.ReadSeq, entry.Unread, entry.Mentions);

    public static MemberDto ToMemberDto(this RoomMembership member) =>
        new(member.UserId, member.UserName, ToWire(member.Role), member.MutedUntil?.UtcDateTime);

    public static BanDto ToBanDto(this RoomMembership ban) => new(ban.UserId, ban.UserName, ban.BannedUntil?.UtcDateTime, ban.BanReason);

    public static UserProfileDto ToProfileDto(this ChatUser user) => new(user.Id, user.UserName, user.FirstName, user.LastName);

    public static string ToWire(RoomKind kind) => kind switch
    {
        RoomKind.Private => "private",
        RoomKind.Direct => "direct",
        _ => "public",
    };

    public static string ToWire(MemberRole role) => role switch
    {
        MemberRole.Owner => "owner",
        MemberRole.Moderator => "moderator",
        _ => "member",
    };

    /// <summary>Parses the <c>kind</c> of a new room: <c>public</c> (also when absent) or <c>private</c>.</summary>
    public static RoomKind ParseCreatableKind(string? kind) => kind switch
    {
        null => RoomKind.Public,
        "public" => RoomKind.Public,
        "private" => RoomKind.Private,
        "direct" => throw ChatException.Validation("kind", "Direct rooms are created with POST /api/direct."),
        _ => throw ChatException.Validation("kind", "kind is 'public' or 'private'."),
    };

    public static MemberRole ParseRole(string? role) => role switch
    {
        "owner" => MemberRole.Owner,
        "moderator" => MemberRole.Moderator,
        "member" => MemberRole.Member,
        _ => throw ChatException.Validation("role", "role is 'owner', 'moderator' or 'member'."),
    };

    public static UserDto ToDto(this ChatUser user) => new(user.Id, user.UserName);

    public static ServerLimits ToLimits(ChitChatOptions chat, ChitChatAspNetCoreOptions host) =>
        new(
            MaxMessageLength: chat.MaxMessageLength,
            MaxClientMessageIdLength: chat.MaxClientMessageIdLength,
            DefaultHistoryPageSize: chat.DefaultHistoryPageSize,
            MaxHistoryPageSize: chat.MaxHistoryPageSize,
            CatchUpLimit: chat.CatchUpLimit,
            RecentMessagesOnJoin: host.Hub.RecentMessagesOnJoin,
            MaxRoomsPerConnection: host.Hub.MaxRoomsPerConnection,
            SendRateLimit: chat.SendRateLimit,
            SendRateWindowMs: (long)chat.SendRateWindow.TotalMilliseconds,
            TypingExpiryMs: (long)chat.TypingExpiry.TotalMilliseconds,
            MaxHubMessageSize: host.Hub.MaximumReceiveMessageSize,
            MinUserNameLength: chat.MinUserNameLength,
            MaxUserNameLength: chat.MaxUserNameLength,
            MinPasswordLength: chat.MinPasswordLength,
            DefaultEventsPageSize: chat.DefaultEventsPageSize,
            MaxEventsPageSize: chat.MaxEventsPageSize,
            DefaultSearchPageSize: chat.DefaultSearchPageSize,
            MaxSearchPageSize: chat.MaxSearchPageSize,
            MaxReactionsPerMessage: chat.MaxReactionsPerMessage,
            MaxEmojiLength: MessageMutation.MaxEmojiLength,
            EditWindowMs: (long)chat.EditWindow.TotalMilliseconds);
}
