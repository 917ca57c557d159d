using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ChitChat.Contracts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

using ChitChat.Testing;

namespace ChitChat.OpenTelemetry.Tests.Infrastructure;

/// <summary>
/// A ChitChat web host on real Kestrel (127.0.0.1, a free port), wired as the web sample does: <c>builder.AddChitChat()
/// .AddAspNetCore()</c>, <c>builder.AddChitChatTelemetry()</c>, <c>UseChitChat</c>, <c>MapChitChat</c>,
/// <c>MapChitChatTelemetry</c>, configured through settings.
/// </summary>
public sealed class TelemetryServer : IAsyncDisposable
{
    public const string SigningKey = LoopbackHost.SigningKey;

    private readonly WebApplication _app;

    private TelemetryServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Builds and starts a server; <paramref name="settings"/> override the defaults (in-memory store, fast hashing, no rate limits).</summary>
    public static async Task<TelemetryServer> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var app = Build(settings);
        return new TelemetryServer(app, await LoopbackHost.StartAsync(app));
    }

    /// <summary>Builds the application without starting it.</summary>
    public static WebApplication Build(IReadOnlyDictionary<string, string?>? settings = null)
    {
        // No OTEL_* variables of the machine: the tests say what they configure.
        var builder = LoopbackHost.CreateBuilder(settings, applicationName: "ChitChat.OpenTelemetry.Tests", onlyTheseSettings: true);
        builder.AddChitChat().AddAspNetCore();
        builder.AddChitChatTelemetry();
        var app = builder.Build();
        app.UseChitChat();
        app.MapChitChat();
        app.MapChitChatTelemetry();
        return app;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Timeouts.Default);
        await _app.DisposeAsync();
    }

    public HttpClient Http(string? token = null) => LoopbackHost.Http(BaseAddress, token);

    /// <summary>Registers and logs in a fresh user; returns the access token.</summary>
    public async Task<string> NewUserAsync()
    {
        var name = "user_" + Guid.NewGuid().ToString("N")[..10];
        using var http = Http();
        using var register = await http.PostAsJsonAsync(ChitChatRoutes.Register, new { userName = name, password = "password123" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        using var login = await http.PostAsJsonAsync(ChitChatRoutes.Login, new { userName = name, password = "password123" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var body = await login.Content.ReadFromJsonAsync<JsonElement>(JsonSerializerOptions.Web).WaitAsync(Timeouts.Default);
        return body.GetProperty("accessToken").GetString()!;
    }

    /// <summary>Creates a room with a unique name.</summary>
    public async Task<string> NewRoomAsync(string token)
    {
        var name = "room-" + Guid.NewGuid().ToString("N")[..10];
        using var http = Http(token);
        using var response = await http.PostAsJsonAsync(ChitChatRoutes.Rooms, new { name }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return name;
    }

    /// <summary>Sends a message over HTTP.</summary>
    public async Task SendAsync(string token, string room, string text)
    {
        using var http = Http(token);
        using var response = await http.PostAsJsonAsync(ChitChatRoutes.Messages(room), new SendMessageBody(text, Guid.NewGuid().ToString("N"))).WaitAsync(Timeouts.Default);
        Assert.True(response.IsSuccessStatusCode, $"send: {(int)response.StatusCode}");
    }

    /// <summary>Connects a hub client (WebSockets) that has joined <paramref name="room"/>; <paramref name="received"/> completes with the first message event.</summary>
    public async Task<HubConnection> JoinAsync(string token, string room, TaskCompletionSource<MessageDto> received)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(BaseAddress, ChitChatRoutes.Hub), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .Build();
        hub.On<MessageDto>(HubEvents.Message, m => received.TrySetResult(m));
        await hub.StartAsync().WaitAsync(Timeouts.Default);
        await hub.InvokeAsync<JoinRoomResult>(HubMethods.JoinRoom, room, null).WaitAsync(Timeouts.Default);
        return hub;
    }
}

public static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);
}
