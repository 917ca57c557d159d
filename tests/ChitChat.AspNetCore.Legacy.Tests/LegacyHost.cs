// Every await here is bounded by its own WaitAsync/Timeout; the test cancellation token adds nothing.
#pragma warning disable xUnit1051

using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using ChitChat.History;
using ChitChat.Messaging;
using ChitChat.Rooms;
using ChitChat.Storage;
using ChitChat.Accounts;
using ChitChat.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChitChat.AspNetCore.Legacy.Tests;

/// <summary>A real Kestrel host on 127.0.0.1:0 with ChitChat (in-memory store) and the legacy API.</summary>
internal sealed class LegacyHost : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;

    private LegacyHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = Timeout };
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public IChatStore Store => _app.Services.GetRequiredService<IChatStore>();

    public AccountService Accounts => _app.Services.GetRequiredService<AccountService>();

    public RoomService Rooms => _app.Services.GetRequiredService<RoomService>();

    public MessageSender Sender => _app.Services.GetRequiredService<MessageSender>();

    public HistoryService History => _app.Services.GetRequiredService<HistoryService>();

    /// <summary>Reads the latest page of a room's history, as the native API does.</summary>
    public Task<IReadOnlyList<ChatMessage>> HistoryAsync(string room) => History.GetHistoryAsync(RoomName.Parse(room), new HistoryQuery());

    /// <summary>Sends a native message, as the hub does.</summary>
    public Task<AppendResult> SendAsync(ChatIdentity author, string room, string text, string? clientMessageId) =>
        Sender.SendAsync(author, new SendMessageRequest(RoomName.Parse(room), text, clientMessageId));

    public static async Task<LegacyHost> StartAsync(bool enabled = true, IEnumerable<KeyValuePair<string, string?>>? settings = null, Action<IChitChatBuilder>? providers = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ChitChat:PasswordHashIterations"] = "1000",
            ["ChitChat:Legacy:Enabled"] = enabled ? "true" : "false",
            ["ChitChat:Legacy:AuthRateLimit"] = "0",
            ["ChitChat:Legacy:AllowedOrigins:0"] = "https://old.example.com",
            ["ChitChat:Auth:SigningKey"] = "legacy-tests-signing-key-0123456789-abcdefghij",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        // The same wiring the sample web host uses: the native API and hub, plus the legacy API (in-memory providers unless
        // the test chooses others).
        var chat = builder.Services.AddChitChat();
        providers?.Invoke(chat);
        chat.AddAspNetCore().AddLegacyApi();
        var app = builder.Build();
        app.UseChitChat();
        app.MapChitChat();
        app.MapChitChatLegacy();
        await app.StartAsync().WaitAsync(Timeout);
        return new LegacyHost(app, new Uri(app.Urls.First()));
    }

    public Uri WebSocketUri(string room) => new($"ws://{Address.Authority}/ws/chat/{room}/");

    public async Task<ClientWebSocket> ConnectAsync(string room, string? origin = null)
    {
        var socket = new ClientWebSocket();
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var sink = _app.Services.GetRequiredService<LegacyDeliverySink>();
        var before = sink.CountConnections(room);
        await socket.ConnectAsync(WebSocketUri(room), CancellationToken.None).WaitAsync(Timeout);

        // Wait until the server counts the socket as joined, so that nothing sent afterwards can be missed.
        await WaitUntilAsync(() => sink.CountConnections(room) > before, $"legacy socket joins {room}");
        return socket;
    }

    /// <summary>Registers a user through the legacy API and logs in; returns its id.</summary>
    public async Task<(string Id, string UserName)> RegisterAsync(string userName, string password = "password-123")
    {
        using var register = await Http.PostAsJsonAsync("/register/", new { firstName = "F", lastName = "L", userName, password });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        using var login = await Http.PostAsJsonAsync("/login/", new { userName, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var body = await login.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("id").GetString()!, body.GetProperty("username").GetString()!);
    }

    /// <summary>Logs a user in over the native API and connects a SignalR client that records every <c>message</c> event.</summary>
    public async Task<(HubConnection Hub, System.Threading.Channels.Channel<JsonElement> Messages)> ConnectNativeAsync(string userName, string password = "password-123")
    {
        var token = await LoginNativeAsync(userName, password);
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(Address, "/hubs/chat"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        var messages = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();
        hub.On<JsonElement>("message", m => messages.Writer.TryWrite(m));
        await hub.StartAsync().WaitAsync(Timeout);
        await hub.InvokeAsync<JsonElement>("JoinRoom", "global", (long?)null).WaitAsync(Timeout);
        return (hub, messages);
    }

    /// <summary>Logs a user in over the native API; returns the bearer token.</summary>
    public async Task<string> LoginNativeAsync(string userName, string password = "password-123")
    {
        using var login = await Http.PostAsJsonAsync("/api/auth/login", new { userName, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
    }

    /// <summary>Subscribes to native room events as a SignalR hub would, recording every posted message.</summary>
    public async Task<NativeListener> ListenAsync(string room)
    {
        var listener = new NativeListener();
        listener.Subscription = await _app.Services.GetRequiredService<IChatTransport>().SubscribeAsync(room, listener.OnEventAsync);
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync().WaitAsync(Timeout);
        await _app.DisposeAsync();
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string phase)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, cts.Token); // polling interval, not synchronization
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{phase}: condition not met within {Timeout}.");
            }
        }
    }

    public static async Task<JsonElement> ReceiveJsonAsync(WebSocket socket, string phase)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(length), cts.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException($"{phase}: the socket closed ({socket.CloseStatus}).");
                }

                length += result.Count;
                if (result.EndOfMessage)
                {
                    return JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone();
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{phase}: no WebSocket frame within {Timeout}.");
        }
    }

    public static Task SendJsonAsync(WebSocket socket, object value) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(value)), WebSocketMessageType.Text, true, CancellationToken.None).WaitAsync(Timeout);
}

/// <summary>Records native <see cref="MessagePosted"/> events of a room.</summary>
internal sealed class NativeListener : IAsyncDisposable
{
    private readonly System.Threading.Channels.Channel<ChatMessage> _messages = System.Threading.Channels.Channel.CreateUnbounded<ChatMessage>();

    public IAsyncDisposable? Subscription { get; set; }

    public ValueTask OnEventAsync(RoomEvent roomEvent, CancellationToken cancellationToken)
    {
        if (roomEvent is MessagePosted posted)
        {
            _messages.Writer.TryWrite(posted.Message);
        }

        return ValueTask.CompletedTask;
    }

    public async Task<ChatMessage> NextAsync(string phase)
    {
        try
        {
            return await _messages.Reader.ReadAsync().AsTask().WaitAsync(LegacyHost.Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{phase}: no native message within {LegacyHost.Timeout}.");
        }
    }

    public bool TryNext(out ChatMessage? message) => _messages.Reader.TryRead(out message);

    public ValueTask DisposeAsync() => Subscription?.DisposeAsync() ?? ValueTask.CompletedTask;
}
