using ChitChat.Client.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace ChitChat.Client.Tests;

/// <summary>The options' hooks: HTTP handler, logging, hub protocol.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task The_application_handler_carries_the_HTTP_calls_and_is_not_disposed_and_no_secret_is_logged()
    {
        await using var server = await ServerHost.StartAsync();
        await using var bob = await server.ConnectAsync("bob");
        var name = await server.RegisterAsync("dave");
        using var handler = new CountingHandler(new SocketsHttpHandler());
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        var options = ServerHost.Options(server.Address, name);
        options.HttpMessageHandler = handler;
        options.LoggerFactory = loggerFactory;
        options.ConfigureHttpConnection = o => o.Transports = HttpTransportType.LongPolling; // every hub frame goes through the handler
        string token;
        await using (var client = new ChitChatClient(options))
        {
            await Wait.For(client.ConnectAsync(), "connect over long polling");
            var room = await ServerHost.NewRoomAsync(bob);
            var subscription = await Wait.For(client.JoinRoomAsync(room, afterSeq: 0), "join");
            var events = new EventCollector(subscription);
            var ack = await Wait.For(bob.SendAsync(room, "hi dave"), "bob sends");
            await events.WaitForSeqAsync(ack.Seq, "dave receives over long polling");
            await Wait.For(client.SendAsync(room, "hi bob"), "dave sends");
            token = (await client.LoginAsync(name, ServerHost.Password)).AccessToken;
        }

        Assert.True(handler.Requests > 5, $"{handler.Requests} requests went through the handler");
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(server.Address, "/api/limits")), CancellationToken.None);
        Assert.True(response.IsSuccessStatusCode); // still usable after the client was disposed

        var messages = logs.GetSnapshot().Select(r => r.Message + " " + string.Join(" ", r.StructuredState?.Select(s => s.Value) ?? [])).ToList();
        Assert.Contains(messages, m => m.Contains("Connected to the hub", StringComparison.Ordinal));
        Assert.Contains(logs.GetSnapshot(), r => r.Id.Id is >= 9000 and <= 9199);
        Assert.DoesNotContain(messages, m => m.Contains(token.Split('.')[2], StringComparison.Ordinal) || m.Contains(ServerHost.Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task MessagePack_works_through_the_hub_connection_hook()
    {
        await using var server = await ServerHost.StartAsync();
        await using var bob = await server.ConnectAsync("bob");
        await using var alice = await server.ConnectAsync("alice", configure: o => o.ConfigureHubConnection = b => b.AddMessagePackProtocol());
        var room = await ServerHost.NewRoomAsync(bob);
        await Wait.For(bob.SendAsync(room, "before"), "bob sends before the join");
        var subscription = await Wait.For(alice.JoinRoomAsync(room, afterSeq: 0), "alice joins over MessagePack");
        var events = new EventCollector(subscription);
        var ack = await Wait.For(alice.SendAsync(room, "über msgpack"), "alice sends over MessagePack");
        await events.WaitForSeqAsync(ack.Seq, "alice receives over MessagePack");
        Assert.Equal(["before", "über msgpack"], events.Messages.Select(m => m.Text));
        Assert.Contains(await Wait.For(alice.GetPresenceAsync(room), "presence over MessagePack"), p => p.UserName == alice.User!.UserName);
    }

    private sealed class CountingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
