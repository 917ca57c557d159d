using ChitChat.Rooms;
using ChitChat.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChitChat.Hosting;

/// <summary>Prepares the store (schema, indexes) and the default room before the host serves requests.</summary>
internal sealed partial class ChitChatInitializer(IChatStore store, RoomService rooms, ILogger<ChitChatInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var room = await rooms.EnsureDefaultRoomAsync(cancellationToken).ConfigureAwait(false);
        LogReady(store.ProviderName, room.Name);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1201, EventName = "StoreReady", Level = LogLevel.Information, Message = "ChitChat store {Provider} is ready; default room {Room}.")]
    private partial void LogReady(string provider, string room);
}
