using System.Text.Json;
using ChitChat.Client;
using ChitChat.Client.Tests.Infrastructure;
using ChitChat.Contracts;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.Faults.Tests.Infrastructure;

/// <summary>Users and connections of the fault tests, through the .NET client SDK (and a raw hub connection where a test must see each hub error).</summary>
internal static class Chat
{
    public const string Password = "faults-password-1";

    /// <summary>A client of <paramref name="server"/> that logs in as <paramref name="user"/> and reconnects fast (WebSockets only, no
    /// negotiate request, so that a proxy switching nodes never splits negotiate and connect between two nodes).</summary>
    public static ChitChatClient Client(Uri server, string user) => new(new ChitChatClientOptions
    {
        Server = server,
        UserName = user,
        Password = Password,
        ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)],
        RetryDelay = TimeSpan.FromMilliseconds(250),
        ConfigureHttpConnection = o =>
        {
            o.SkipNegotiation = true;
            o.Transports = HttpTransportType.WebSockets;
        },
    });

    /// <summary>Registers <paramref name="users"/> on <paramref name="server"/>.</summary>
    public static async Task RegisterAsync(Uri server, params string[] users)
    {
        await using var anonymous = new ChitChatClient(new ChitChatClientOptions { Server = server });
        foreach (var user in users)
        {
            await Wait.For(anonymous.RegisterAsync(user, Password), $"registration of {user}");
        }
    }

    /// <summary>Connects <paramref name="client"/>, naming the phase when it does not connect in time.</summary>
    public static Task ConnectAsync(ChitChatClient client, string phase) => Wait.For(client.ConnectAsync(), phase);

    /// <summary>A raw hub connection of <paramref name="user"/> to <paramref name="server"/>: no outbox, so every hub error reaches the test.</summary>
    public static async Task<HubConnection> HubAsync(Uri server, string user)
    {
        var token = await TokenAsync(server, user);
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(server, "hubs/chat"), o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                o.SkipNegotiation = true;
                o.Transports = HttpTransportType.WebSockets;
            })
            .Build();
        await Wait.For(hub.StartAsync(), $"hub connection of {user}");
        return hub;
    }

    /// <summary>Logs <paramref name="user"/> in and returns the access token.</summary>
    public static async Task<string> TokenAsync(Uri server, string user)
    {
        await using var login = new ChitChatClient(new ChitChatClientOptions { Server = server });
        return (await Wait.For(login.LoginAsync(user, Password), $"login of {user}")).AccessToken;
    }

    /// <summary>Reads the status of one check of <c>GET /health</c> (e.g. <c>transport</c>), or <see langword="null"/> when the node does not answer.</summary>
    public static async Task<string?> HealthAsync(Uri node, string check)
    {
        using var http = new HttpClient { BaseAddress = node, Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await http.GetAsync("health");
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("checks").GetProperty(check).GetProperty("status").GetString();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return null;
        }
    }
}
