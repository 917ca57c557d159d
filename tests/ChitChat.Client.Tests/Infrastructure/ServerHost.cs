using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using ChitChat.Testing;

namespace ChitChat.Client.Tests.Infrastructure;

/// <summary>A ChitChat server on real Kestrel (127.0.0.1, a free port), in-memory store, wired as the README's quick start.</summary>
public sealed class ServerHost : IAsyncDisposable
{
    public const string Password = "password-123";
    private static int s_users;
    private readonly WebApplication _app;

    private ServerHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Gets the server's services (e.g. its <c>IChatTransport</c>, to publish events as the server does).</summary>
    public IServiceProvider Services => _app.Services;

    public static async Task<ServerHost> StartAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase) { ["ChitChat:Auth:SigningKey"] = "client-tests-signing-key-0123456789-abcdefghij" };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var builder = LoopbackHost.CreateBuilder(settings);
        builder.Logging.ClearProviders();
        builder.AddChitChat().AddAspNetCore();
        var app = builder.Build();
        app.UseChitChat();
        app.MapChitChat();
        return new ServerHost(app, await LoopbackHost.StartAsync(app));
    }

    public static string UniqueName(string prefix) => $"{prefix}{Interlocked.Increment(ref s_users)}_{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Options for a client of <paramref name="server"/> (this server or a proxy in front of it) with fast reconnects.</summary>
    public static ChitChatClientOptions Options(Uri server, string userName, bool webSocketsOnly = false) => new()
    {
        Server = server,
        UserName = userName,
        Password = Password,
        ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200)],
        RetryDelay = TimeSpan.FromMilliseconds(200),
        ConfigureHttpConnection = webSocketsOnly
            ? o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
            }
            : null,
    };

    /// <summary>Registers a user (directly at the server).</summary>
    public async Task<string> RegisterAsync(string prefix = "user")
    {
        var name = UniqueName(prefix);
        await using var client = new ChitChatClient(new ChitChatClientOptions { Server = Address });
        await client.RegisterAsync(name, Password).WaitAsync(Wait.Timeout);
        return name;
    }

    /// <summary>Registers a user and connects a client for it, through <paramref name="via"/> when given.</summary>
    public async Task<ChitChatClient> ConnectAsync(string prefix = "user", Uri? via = null, bool webSocketsOnly = false, Action<ChitChatClientOptions>? configure = null)
    {
        var name = await RegisterAsync(prefix);
        var options = Options(via ?? Address, name, webSocketsOnly);
        configure?.Invoke(options);
        var client = new ChitChatClient(options);
        await client.ConnectAsync().WaitAsync(Wait.Timeout);
        return client;
    }

    /// <summary>Creates a room with a unique name.</summary>
    public static async Task<string> NewRoomAsync(ChitChatClient owner)
    {
        var room = await owner.CreateRoomAsync($"room-{Guid.NewGuid().ToString("N")[..10]}").WaitAsync(Wait.Timeout);
        return room.Name;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Wait.Timeout);
        await _app.DisposeAsync();
    }
}
