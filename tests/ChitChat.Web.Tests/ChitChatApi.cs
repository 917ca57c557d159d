using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace ChitChat.Web.Tests;

/// <summary>A minimal HTTP client of the public API (PROTOCOL.md), used to seed data and to read the server's truth.</summary>
public sealed class ChitChatApi(Uri baseAddress) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = Timeout };

    public sealed record Message(string Id, string Room, long Seq, string AuthorId, string AuthorName, string Text, DateTimeOffset SentAt, string? ClientMessageId);

    private sealed record LoginResult(string AccessToken);

    /// <summary>Registers a user and returns a bearer token for it.</summary>
    public async Task<string> RegisterAndLoginAsync(string userName, string password)
    {
        using (var register = await _http.PostAsJsonAsync("api/auth/register", new { userName, password }).WaitAsync(Timeout))
        {
            Assert.True(register.StatusCode == HttpStatusCode.Created, $"register {userName}: {(int)register.StatusCode} {await register.Content.ReadAsStringAsync()}");
        }

        return await LoginAsync(userName, password);
    }

    public async Task<string> LoginAsync(string userName, string password)
    {
        using var login = await _http.PostAsJsonAsync("api/auth/login", new { userName, password }).WaitAsync(Timeout);
        Assert.True(login.IsSuccessStatusCode, $"login {userName}: {(int)login.StatusCode} {await login.Content.ReadAsStringAsync()}");
        var result = await login.Content.ReadFromJsonAsync<LoginResult>().WaitAsync(Timeout);
        return result!.AccessToken;
    }

    public async Task CreateRoomAsync(string token, string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/rooms") { Content = JsonContent.Create(new { name }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request).WaitAsync(Timeout);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create room {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task<Message> PostMessageAsync(string token, string room, string text)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/rooms/{room}/messages") { Content = JsonContent.Create(new { text, clientMessageId = Guid.NewGuid().ToString() }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request).WaitAsync(Timeout);
        Assert.True(response.IsSuccessStatusCode, $"post message to {room}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<Message>().WaitAsync(Timeout))!;
    }

    /// <summary>The room's whole history, ascending by seq (pages of 500).</summary>
    public async Task<IReadOnlyList<Message>> HistoryAsync(string token, string room)
    {
        var all = new List<Message>();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"api/rooms/{room}/messages?limit=500&after={(all.Count == 0 ? 0 : all[^1].Seq)}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await _http.SendAsync(request).WaitAsync(Timeout);
            Assert.True(response.IsSuccessStatusCode, $"history of {room}: {(int)response.StatusCode}");
            var page = (await response.Content.ReadFromJsonAsync<List<Message>>().WaitAsync(Timeout))!;
            all.AddRange(page);
            if (page.Count < 500)
            {
                return all;
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
