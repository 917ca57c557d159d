using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChitChat.Client.Tests.Infrastructure;

/// <summary>
/// A SignalR-aware proxy on real Kestrel (127.0.0.1): forwards HTTP requests, relays WebSocket text frames (JSON hub
/// protocol, records separated by 0x1E) and can drop chosen records: the next server-to-client <c>message</c> invocation,
/// or the completion of the next <c>SendMessage</c>. It can also cut every relayed connection and refuse new ones.
/// Clients must use WebSockets with SkipNegotiation (or negotiate through the forwarded HTTP).
/// </summary>
public sealed class WebSocketProxy : IAsyncDisposable
{
    private const char RecordSeparator = '\u001e';
    private readonly WebApplication _app;
    private readonly Uri _upstream;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly ConcurrentDictionary<Relay, byte> _relays = new();
    private readonly ConcurrentDictionary<string, int> _sendsByClientMessageId = new(StringComparer.Ordinal);
    private volatile bool _refusing;
    private readonly ConcurrentDictionary<string, int> _invocations = new(StringComparer.Ordinal);
    private int _dropMessageEvents;
    private int _dropUpdateEvents;
    private int _dropSendCompletions;
    private int _droppedCompletions;

    private WebSocketProxy(WebApplication app, Uri upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>Completes with the seq of a dropped <c>message</c> event.</summary>
    public TaskCompletionSource<long> MessageEventDropped { get; private set; } = NewSignal<long>();

    /// <summary>Completes with the clientMessageId of the <c>SendMessage</c> whose completion was dropped.</summary>
    public TaskCompletionSource<string> SendCompletionDropped { get; private set; } = NewSignal<string>();

    public static async Task<WebSocketProxy> StartAsync(Uri upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var proxy = new WebSocketProxy(app, upstream);
        app.UseWebSockets();
        app.Run(proxy.HandleAsync);
        await app.StartAsync().WaitAsync(Wait.Timeout);
        proxy.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        return proxy;
    }

    /// <summary>Completes with the event seq of a dropped <c>messageUpdated</c> event.</summary>
    public TaskCompletionSource<long> UpdateEventDropped { get; private set; } = NewSignal<long>();

    /// <summary>Drops the next <c>messageUpdated</c> event the server sends to any relayed client.</summary>
    public void DropNextUpdateEvent()
    {
        UpdateEventDropped = NewSignal<long>();
        Interlocked.Increment(ref _dropUpdateEvents);
    }

    /// <summary>How many invocations of a hub method the relayed clients sent.</summary>
    public int InvocationCount(string method) => _invocations.GetValueOrDefault(method);

    /// <summary>Drops the next <c>message</c> event the server sends to any relayed client.</summary>
    public void DropNextMessageEvent()
    {
        MessageEventDropped = NewSignal<long>();
        Interlocked.Increment(ref _dropMessageEvents);
    }

    /// <summary>Lets the next <c>SendMessage</c> through to the server but drops its completion (the ack).</summary>
    public void DropNextSendCompletion()
    {
        SendCompletionDropped = NewSignal<string>();
        Interlocked.Increment(ref _dropSendCompletions);
    }

    /// <summary>Gets how many <c>SendMessage</c> completions were dropped so far.</summary>
    public int DroppedCompletions => Volatile.Read(ref _droppedCompletions);

    /// <summary>Lets the next <paramref name="count"/> <c>SendMessage</c>s through but drops their completions.</summary>
    public void DropSendCompletions(int count) => Interlocked.Add(ref _dropSendCompletions, count);

    /// <summary>How many <c>SendMessage</c> invocations with this clientMessageId reached the server.</summary>
    public int SendCount(string clientMessageId) => _sendsByClientMessageId.GetValueOrDefault(clientMessageId);

    /// <summary>Aborts every relayed connection and refuses new requests until <see cref="Resume"/>.</summary>
    public void Cut()
    {
        _refusing = true;
        foreach (var relay in _relays.Keys)
        {
            relay.Abort();
        }
    }

    public void Resume() => _refusing = false;

    public async ValueTask DisposeAsync()
    {
        Cut();
        await _app.StopAsync().WaitAsync(Wait.Timeout);
        await _app.DisposeAsync();
        _http.Dispose();
    }

    private static TaskCompletionSource<T> NewSignal<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task HandleAsync(HttpContext context)
    {
        if (_refusing)
        {
            context.Abort();
            return;
        }

        if (context.WebSockets.IsWebSocketRequest)
        {
            await RelayAsync(context);
        }
        else
        {
            await ForwardAsync(context);
        }
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(_upstream, context.Request.Path + context.Request.QueryString));
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        if (body.Length > 0)
        {
            request.Content = new ByteArrayContent(body.ToArray());
        }

        foreach (var (name, value) in context.Request.Headers)
        {
            if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value.ToArray());
            }
            else if (!name.Equals("Host", StringComparison.OrdinalIgnoreCase) && !name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && !name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, value.ToArray());
            }
        }

        using var response = await _http.SendAsync(request, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private async Task RelayAsync(HttpContext context)
    {
        var upstream = new ClientWebSocket();
        upstream.Options.CollectHttpResponseDetails = true;
        if (context.Request.Headers.Authorization.Count > 0)
        {
            upstream.Options.SetRequestHeader("Authorization", context.Request.Headers.Authorization.ToString());
        }

        var target = new UriBuilder(_upstream) { Scheme = "ws", Path = context.Request.Path.Value, Query = context.Request.QueryString.Value?.TrimStart('?') }.Uri;
        try
        {
            await upstream.ConnectAsync(target, context.RequestAborted);
        }
        catch (WebSocketException)
        {
            // Pass the server's refusal (e.g. 401 for a bad token) on to the client.
            context.Response.StatusCode = upstream.HttpStatusCode is 0 ? StatusCodes.Status502BadGateway : (int)upstream.HttpStatusCode;
            upstream.Dispose();
            return;
        }

        using var client = await context.WebSockets.AcceptWebSocketAsync();
        var relay = new Relay(context, client, upstream);
        _relays[relay] = 0;
        try
        {
            if (_refusing)
            {
                return;
            }

            await Task.WhenAny(PumpAsync(client, upstream, relay, toServer: true), PumpAsync(upstream, client, relay, toServer: false));
        }
        finally
        {
            relay.Abort();
            _relays.TryRemove(relay, out _);
            upstream.Dispose();
        }
    }

    private async Task PumpAsync(WebSocket from, WebSocket to, Relay relay, bool toServer)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await from.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await to.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var bytes = message.ToArray();
                message.SetLength(0);
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    bytes = Filter(bytes, relay, toServer);
                    if (bytes.Length == 0)
                    {
                        continue;
                    }
                }

                await to.SendAsync(bytes, result.MessageType, endOfMessage: true, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // cut or closed
        }
    }

    private byte[] Filter(byte[] frame, Relay relay, bool toServer)
    {
        var records = Encoding.UTF8.GetString(frame).Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries);
        var kept = new StringBuilder();
        foreach (var record in records)
        {
            if (!Drop(record, relay, toServer))
            {
                kept.Append(record).Append(RecordSeparator);
            }
        }

        return Encoding.UTF8.GetBytes(kept.ToString());
    }

    private bool Drop(string record, Relay relay, bool toServer)
    {
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(record).RootElement;
        }
        catch (JsonException)
        {
            return false;
        }

        if (!root.TryGetProperty("type", out var typeProperty))
        {
            return false; // handshake
        }

        var type = typeProperty.GetInt32();
        var target = root.TryGetProperty("target", out var t) ? t.GetString() : null;
        var invocationId = root.TryGetProperty("invocationId", out var id) ? id.GetString() : null;
        if (toServer)
        {
            if (type == 1 && target is not null)
            {
                _invocations.AddOrUpdate(target, 1, (_, n) => n + 1);
            }

            if (type == 1 && target == "SendMessage" && root.GetProperty("arguments")[2].GetString() is { } clientMessageId)
            {
                _sendsByClientMessageId.AddOrUpdate(clientMessageId, 1, (_, n) => n + 1);
                if (invocationId is not null && TryTake(ref _dropSendCompletions))
                {
                    relay.DropCompletions[invocationId] = clientMessageId;
                }
            }

            return false;
        }

        if (type == 1 && target == "message" && TryTake(ref _dropMessageEvents))
        {
            MessageEventDropped.TrySetResult(root.GetProperty("arguments")[0].GetProperty("seq").GetInt64());
            return true;
        }

        if (type == 1 && target == "messageUpdated" && TryTake(ref _dropUpdateEvents))
        {
            UpdateEventDropped.TrySetResult(root.GetProperty("arguments")[0].GetProperty("seq").GetInt64());
            return true;
        }

        if (type == 3 && invocationId is not null && relay.DropCompletions.TryRemove(invocationId, out var dropped))
        {
            Interlocked.Increment(ref _droppedCompletions);
            SendCompletionDropped.TrySetResult(dropped);
            return true;
        }

        return false;
    }

    private static bool TryTake(ref int counter)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter);
            if (current <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref counter, current - 1, current) == current)
            {
                return true;
            }
        }
    }

    private sealed class Relay(HttpContext context, WebSocket client, WebSocket upstream)
    {
        public ConcurrentDictionary<string, string> DropCompletions { get; } = new(StringComparer.Ordinal);

        public void Abort()
        {
            client.Abort();
            upstream.Abort();
            try
            {
                context.Abort();
            }
            catch (ObjectDisposedException)
            {
                // The relayed request ended on its own between the snapshot of the relays and this call: nothing to cut.
            }
        }
    }
}
