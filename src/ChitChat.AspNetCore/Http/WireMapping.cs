using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Http;

/// <summary>The one place that turns the domain model into the wire contracts of <c>ChitChat.Contracts</c>.</summary>
internal static class WireMapping
{
    public static MessageDto ToDto(this ChatMessage message) =>
        new(message.Id, message.Room, message.Seq, message.AuthorId, message.AuthorName, message.Text, message.SentAt.UtcDateTime, message.ClientMessageId);

    public static RoomDto ToDto(this ChatRoom room, long lastSeq, long memberCount) =>
        new(room.Id, room.Name, ToWire(room.Kind), room.Topic, room.CreatedAt.UtcDateTime, room.CreatedBy, lastSeq, memberCount);

    public static RoomDto ToDto(this RoomListEntry entry) => entry.Room.ToDto(entry.LastSeq, entry.MemberCount);

    // lastReadSeq, unread and mentions are 0 until read state exists (a later issue).
    public static RoomListEntryDto ToListDto(this RoomListEntry entry) =>
        new(entry.Room.Id, entry.Room.Name, ToWire(entry.Room.Kind), entry.Room.Topic, entry.Room.CreatedAt.UtcDateTime, entry.Room.CreatedBy,
            entry.LastSeq, entry.MemberCount, entry.Role is { } role ? ToWire(role) : null, 0, 0, 0);

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
            MinPasswordLength: chat.MinPasswordLength);
}
