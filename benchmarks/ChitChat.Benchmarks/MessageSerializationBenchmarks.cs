using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using ChitChat.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace ChitChat.Benchmarks;

/// <summary>
/// Serialization of one <c>message</c> hub event, per hub protocol, the way SignalR frames it for a group send: the
/// protocol writes <c>InvocationMessage("message", [MessageDto])</c> once into a buffer writer (the resulting bytes are
/// then shared by every connection of the group using that protocol). The DTO is the one <c>RoomFanout</c> sends. A
/// System.Text.Json serialization of the bare DTO (same payload options and writer escaping as the JSON hub protocol) is the baseline; the
/// difference to <see cref="JsonHubProtocol"/> is the invocation envelope and the record separator.
/// Each method returns the number of bytes written, and <see cref="Setup"/> prints the sizes once.
/// </summary>
[MemoryDiagnoser]
public class MessageSerializationBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private JsonHubProtocol _json = null!;
    private MessagePackHubProtocol _messagePack = null!;
    private JsonSerializerOptions _payloadOptions = null!;
    private Utf8JsonWriter _writer = null!;
    private MessageDto _dto = null!;
    private InvocationMessage _invocation = null!;

    /// <summary>Gets or sets the message text: 100 ASCII characters, or 2,000 characters of mixed-script unicode.</summary>
    [Params("Ascii100", "Unicode2000")]
    public string Text { get; set; } = "Ascii100";

    /// <summary>Builds the protocols (with the options <c>AddJsonProtocol()</c>/<c>AddMessagePackProtocol()</c> use) and the message.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var jsonOptions = new JsonHubProtocolOptions();
        _json = new JsonHubProtocol(Options.Create(jsonOptions));
        _messagePack = new MessagePackHubProtocol(Options.Create(new MessagePackHubProtocolOptions()));
        _payloadOptions = jsonOptions.PayloadSerializerOptions;
        // Like the hub protocol's own writer: relaxed escaping (non-ASCII text stays UTF-8; the default encoder would emit \uXXXX).
        _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });

        var text = Text switch
        {
            "Ascii100" => BuildText("The quick brown fox jumps over the lazy dog, 0123456789. ", 100),
            "Unicode2000" => BuildText("Привет, мир! Γειά σου κόσμε. こんにちは世界。你好，世界！ مرحبا بالعالم 👋🌍 ", 2000),
            _ => throw new InvalidOperationException($"Unknown text '{Text}'."),
        };
        _dto = new MessageDto(
            Guid.CreateVersion7(), "general", 123_456, Guid.CreateVersion7(), "alice", text,
            new DateTime(2026, 11, 25, 4, 40, 0, 123, DateTimeKind.Utc).AddTicks(4567), "c-0f8e1b2a-7d3c-4e5f-9a6b");
        _invocation = new InvocationMessage("message", [_dto]);

        var utf8 = Encoding.UTF8.GetByteCount(text);
        Console.WriteLine(
            $"// Sizes [{Text}] text: {text.Length} chars, {utf8} UTF-8 bytes | json hub: {JsonHubProtocol()} B | " +
            $"messagepack hub: {MessagePackHubProtocol()} B | STJ DTO only: {SystemTextJsonDto()} B");
    }

    /// <summary>The JSON hub protocol framing the invocation (JSON text plus the 0x1E record separator).</summary>
    /// <returns>The bytes written.</returns>
    [Benchmark]
    public int JsonHubProtocol()
    {
        _buffer.ResetWrittenCount();
        _json.WriteMessage(_invocation, _buffer);
        return _buffer.WrittenCount;
    }

    /// <summary>The MessagePack hub protocol framing the invocation (varint length prefix plus the MessagePack array).</summary>
    /// <returns>The bytes written.</returns>
    [Benchmark]
    public int MessagePackHubProtocol()
    {
        _buffer.ResetWrittenCount();
        _messagePack.WriteMessage(_invocation, _buffer);
        return _buffer.WrittenCount;
    }

    /// <summary>Baseline: System.Text.Json serializing the bare DTO with the JSON hub protocol's payload options.</summary>
    /// <returns>The bytes written.</returns>
    [Benchmark(Baseline = true)]
    public int SystemTextJsonDto()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, _dto, _payloadOptions);
        _writer.Flush();
        return _buffer.WrittenCount;
    }

    private static string BuildText(string pattern, int length)
    {
        var builder = new StringBuilder(length + pattern.Length);
        while (builder.Length < length)
        {
            builder.Append(pattern);
        }

        // Never cut a surrogate pair in half.
        var end = char.IsHighSurrogate(builder[length - 1]) ? length - 1 : length;
        return builder.ToString(0, end).PadRight(length, '.');
    }
}
