using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ChitChat.Testing;

/// <summary>A loopback TCP proxy the test can cut: drops every connection and refuses new ones until resumed.</summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private volatile Uri _upstream;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _pairs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private volatile bool _refusing;

    public TcpProxy(Uri upstream)
    {
        _upstream = upstream;
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>Gets or sets the server new connections go to (e.g. a restarted server on another port).</summary>
    public Uri Upstream
    {
        get => _upstream;
        set => _upstream = value;
    }

    /// <summary>Drops every open connection and refuses new ones.</summary>
    public void Cut()
    {
        _refusing = true;
        foreach (var (client, server) in _pairs)
        {
            client.Client.Close(0);
            server.Client.Close(0);
        }

        _pairs.Clear();
    }

    /// <summary>Accepts connections again.</summary>
    public void Resume() => _refusing = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            if (_refusing)
            {
                client.Client.Close(0);
                continue;
            }

            var server = new TcpClient();
            try
            {
                await server.ConnectAsync(_upstream.Host, _upstream.Port, _stop.Token);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }

            _pairs[client] = server;
            _ = PumpAsync(client, server);
            _ = PumpAsync(server, client);
        }
    }

    private static async Task PumpAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream());
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
        finally
        {
            from.Client.Close(0);
            to.Client.Close(0);
        }
    }
}
