using ChitChat.Rooms;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ChitChat.Hosting;

/// <summary>Prepares the store (schema, indexes) and the default room before the host serves requests, and resolves the
/// transport, so that a misconfigured provider stops the host at start-up rather than at the first connection.</summary>
internal sealed partial class ChitChatInitializer(IChatStore store, IChatTransport transport, RoomService rooms, ILogger<ChitChatInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var room = await rooms.EnsureDefaultRoomAsync(cancellationToken).ConfigureAwait(false);
        LogReady(store.ProviderName, transport.Name, room.Name);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1201, EventName = "StoreReady", Level = LogLevel.Information, Message = "ChitChat store {Provider} and transport {Transport} are ready; default room {Room}.")]
    private partial void LogReady(string provider, string transport, string room);
}
