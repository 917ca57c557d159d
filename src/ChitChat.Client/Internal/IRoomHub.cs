using ChitChat.Contracts;

namespace ChitChat.Client.Internal;

/// <summary>The hub calls a <see cref="RoomSynchronizer"/> needs (a seam for tests).</summary>
internal interface IRoomHub
{
    /// <summary>Calls <c>JoinRoom(room, afterSeq)</c>.</summary>
    Task<JoinRoomResult> JoinRoomAsync(string room, long? afterSeq, CancellationToken cancellationToken);

    /// <summary>Calls <c>GetEvents(room, afterSeq, limit)</c>: the room's events (messages and updates) after <paramref name="afterSeq"/>, ascending.</summary>
    Task<IReadOnlyList<RoomEventDto>> GetEventsAsync(string room, long afterSeq, int? limit, CancellationToken cancellationToken);
}
