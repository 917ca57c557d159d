using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using ChitChat.Contracts;

namespace ChitChat.Web.Tests;

/// <summary>A minimal HTTP client of the public API (PROTOCOL.md), used to seed data and to read the server's truth.</summary>
public sealed class ChitChatApi(Uri baseAddress) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http = new() { BaseAddress = baseAddress, Timeout = Timeout };

    /// <summary>Registers a user and returns a bearer token for it.</summary>
    public async Task<string> RegisterAndLoginAsync(string userName, string password)
    {
        using (var register = await _http.PostAsJsonAsync(ChitChatRoutes.Register.TrimStart('/'), new RegisterBody(userName, password)).WaitAsync(Timeout))
        {
            Assert.True(register.StatusCode == HttpStatusCode.Created, $"register {userName}: {(int)register.StatusCode} {await register.Content.ReadAsStringAsync()}");
        }

        return await LoginAsync(userName, password);
    }

    public async Task<string> LoginAsync(string userName, string password)
    {
        using var login = await _http.PostAsJsonAsync(ChitChatRoutes.Login.TrimStart('/'), new LoginBody(userName, password)).WaitAsync(Timeout);
        Assert.True(login.IsSuccessStatusCode, $"login {userName}: {(int)login.StatusCode} {await login.Content.ReadAsStringAsync()}");
        var result = await login.Content.ReadFromJsonAsync<LoginResponse>().WaitAsync(Timeout);
        return result!.AccessToken;
    }

    public async Task CreateRoomAsync(string token, string name)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ChitChatRoutes.Rooms.TrimStart('/')) { Content = JsonContent.Create(new CreateRoomBody(name)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request).WaitAsync(Timeout);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"create room {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Bans a user from a room (<c>PUT /api/rooms/{room}/bans/{userName}</c>) with a reason.</summary>
    public async Task BanAsync(string token, string room, string userName, string reason)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"{ChitChatRoutes.Rooms.TrimStart('/')}/{Uri.EscapeDataString(room)}/bans/{Uri.EscapeDataString(userName)}")
        {
            Content = JsonContent.Create(new BanBody(Reason: reason)),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request).WaitAsync(Timeout);
        Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"ban {userName} from {room}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async Task<MessageDto> PostMessageAsync(string token, string room, string text)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ChitChatRoutes.Messages(room).TrimStart('/')) { Content = JsonContent.Create(new SendMessageBody(text, Guid.NewGuid().ToString())) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request).WaitAsync(Timeout);
        Assert.True(response.IsSuccessStatusCode, $"post message to {room}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<MessageDto>().WaitAsync(Timeout))!;
    }

    /// <summary>The room's whole history, ascending by seq (pages of 500).</summary>
    public async Task<IReadOnlyList<MessageDto>> HistoryAsync(string token, string room)
    {
        var all = new List<MessageDto>();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{ChitChatRoutes.Messages(room).TrimStart('/')}?limit=500&after={(all.Count == 0 ? 0 : all[^1].Seq)}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await _http.SendAsync(request).WaitAsync(Timeout);
            Assert.True(response.IsSuccessStatusCode, $"history of {room}: {(int)response.StatusCode}");
            var page = (await response.Content.ReadFromJsonAsync<List<MessageDto>>().WaitAsync(Timeout))!;
            all.AddRange(page);
            if (page.Count < 500)
            {
                return all;
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
