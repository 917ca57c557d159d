using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace ChitChat.Hosting.Tests;

/// <summary>The HTTP API calls a new user makes, each asserted with the app's output in the failure message.</summary>
internal static class ChatApi
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Creates a client of <paramref name="app"/>, registers <paramref name="userName"/>, logs in and authenticates the client with the token.</summary>
    public static async Task<HttpClient> SignUpAsync(AppProcess app, string userName, string password)
    {
        var http = new HttpClient { BaseAddress = app.Address, Timeout = RequestTimeout };
        using (var register = await http.PostAsJsonAsync("api/auth/register", new { userName, password }))
        {
            Assert.True(register.StatusCode == HttpStatusCode.Created, $"register: {(int)register.StatusCode} {await register.Content.ReadAsStringAsync()}\n{app.Output}");
        }

        using (var login = await http.PostAsJsonAsync("api/auth/login", new { userName, password }))
        {
            Assert.True(login.StatusCode == HttpStatusCode.OK, $"login: {(int)login.StatusCode} {await login.Content.ReadAsStringAsync()}\n{app.Output}");
            using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.RootElement.GetProperty("accessToken").GetString());
        }

        return http;
    }

    /// <summary>Sends <paramref name="text"/> to <paramref name="room"/> and asserts the room's history is exactly that message, by <paramref name="author"/>, with seq 1.</summary>
    public static async Task SendAndReadBackAsync(HttpClient http, AppProcess app, string room, string text, string author)
    {
        using (var send = await http.PostAsJsonAsync($"api/rooms/{room}/messages", new { text, clientMessageId = "hosting-1" }))
        {
            Assert.True(send.StatusCode == HttpStatusCode.Created, $"send: {(int)send.StatusCode} {await send.Content.ReadAsStringAsync()}\n{app.Output}");
        }

        using var history = JsonDocument.Parse(await http.GetStringAsync($"api/rooms/{room}/messages"));
        var message = Assert.Single(history.RootElement.EnumerateArray());
        Assert.Equal(text, message.GetProperty("text").GetString());
        Assert.Equal(author, message.GetProperty("authorName").GetString());
        Assert.Equal(1, message.GetProperty("seq").GetInt64());
    }
}
