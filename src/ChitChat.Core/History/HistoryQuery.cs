namespace ChitChat.History;

/// <summary>A page request for a room's history (see <see cref="HistoryService.GetHistoryAsync"/>); validated by the service.</summary>
/// <param name="BeforeSeq">Only messages before this sequence number (the latest of them); at least 1. Wire name <c>before</c>.</param>
/// <param name="AfterSeq">Only messages after this sequence number (the earliest of them); not negative. Wire name <c>after</c>.</param>
/// <param name="Limit">The page size: at least 1, by default <see cref="ChitChatOptions.DefaultHistoryPageSize"/>, capped at
/// <see cref="ChitChatOptions.MaxHistoryPageSize"/>.</param>
public sealed record HistoryQuery(long? BeforeSeq = null, long? AfterSeq = null, int? Limit = null);
