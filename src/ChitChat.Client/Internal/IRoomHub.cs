using ChitChat.Contracts;

namespace ChitChat.Client.Internal;

/// <summary>The hub calls a <see cref="RoomSynchronizer"/> needs (a seam for tests).</summary>
internal interface IRoomHub
{
    /// <summary>Calls <c>JoinRoom(room, afterSeq)</c>.</summary>
    Task<JoinRoomResult> JoinRoomAsync(string room, long? afterSeq, CancellationToken cancellationToken);

    /// <summary>Calls <c>GetHistory(room, beforeSeq, afterSeq, limit)</c>.</summary>
    Task<IReadOnlyList<MessageDto>> GetHistoryAsync(string room, long? beforeSeq, long? afterSeq, int? limit, CancellationToken cancellationToken);
}
