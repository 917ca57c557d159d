namespace ChitChat.Contracts;

/// <summary>
/// The limits a server enforces, as <c>GET /api/limits</c> (anonymous) returns them, so clients validate and pace
/// themselves with the server's numbers instead of hard-coded copies.
/// </summary>
/// <param name="MaxMessageLength">The longest message text, in UTF-16 code units after trimming.</param>
/// <param name="MaxClientMessageIdLength">The longest <c>clientMessageId</c>.</param>
/// <param name="DefaultHistoryPageSize">The history page size when <c>limit</c> is omitted.</param>
/// <param name="MaxHistoryPageSize">The largest history page.</param>
/// <param name="CatchUpLimit">The most messages one <c>JoinRoom</c> returns in <c>missed</c> before <c>hasMore</c>.</param>
/// <param name="RecentMessagesOnJoin">How many recent messages a <c>JoinRoom</c> without <c>afterSeq</c> returns.</param>
/// <param name="MaxRoomsPerConnection">How many rooms one hub connection may join.</param>
/// <param name="SendRateLimit">How many messages a user may send per <paramref name="SendRateWindowMs"/>.</param>
/// <param name="SendRateWindowMs">The send rate limit's window, in milliseconds.</param>
/// <param name="TypingExpiryMs">How long a <c>typing</c> event stays valid, in milliseconds.</param>
/// <param name="MaxHubMessageSize">The largest hub frame a client may send, in bytes (a larger one closes the connection).</param>
/// <param name="MinUserNameLength">The shortest user name.</param>
/// <param name="MaxUserNameLength">The longest user name.</param>
/// <param name="MinPasswordLength">The shortest password.</param>
/// <param name="DefaultEventsPageSize">The <c>GetEvents</c> page size when <c>limit</c> is omitted (100).</param>
/// <param name="MaxEventsPageSize">The largest <c>GetEvents</c> page (500).</param>
/// <param name="DefaultSearchPageSize">The search page size when <c>limit</c> is omitted (20).</param>
/// <param name="MaxSearchPageSize">The largest search page (100).</param>
/// <param name="MaxReactionsPerMessage">The most distinct emojis on one message.</param>
/// <param name="MaxEmojiLength">The longest emoji, in UTF-16 code units after NFC normalization.</param>
/// <param name="EditWindowMs">How long after sending its author may edit a message, in milliseconds.</param>
public sealed record ServerLimits(
    int MaxMessageLength,
    int MaxClientMessageIdLength,
    int DefaultHistoryPageSize,
    int MaxHistoryPageSize,
    int CatchUpLimit,
    int RecentMessagesOnJoin,
    int MaxRoomsPerConnection,
    int SendRateLimit,
    long SendRateWindowMs,
    long TypingExpiryMs,
    long MaxHubMessageSize,
    int MinUserNameLength,
    int MaxUserNameLength,
    int MinPasswordLength,
    int DefaultEventsPageSize = 100,
    int MaxEventsPageSize = 500,
    int DefaultSearchPageSize = 20,
    int MaxSearchPageSize = 100,
    int MaxReactionsPerMessage = 20,
    int MaxEmojiLength = 32,
    long EditWindowMs = 86_400_000);
