using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Http;

/// <summary>
/// Reads JSON request bodies itself (rather than through parameter binding) so that every failure is a typed
/// <see cref="ChatException"/>: a missing or malformed body is <c>validation_failed</c>, an oversized one
/// <c>payload_too_large</c>, never a 500 or an empty 400.
/// </summary>
internal static class JsonBody
{
    public static async Task<T> ReadAsync<T>(HttpContext context, long maxBytes)
        where T : class
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        if (!request.HasJsonContentType())
        {
            throw new ChatException(ChatErrorCodes.ValidationFailed, "The request body must be JSON (Content-Type: application/json).", new Dictionary<string, string[]> { ["body"] = ["Content-Type must be application/json."] });
        }

        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = maxBytes;
        }

        var serializerOptions = context.RequestServices.GetService<IOptions<JsonOptions>>()?.Value.SerializerOptions ?? JsonSerializerOptions.Web;
        T? body;
        try
        {
            // Bounded even when the server has no body-size feature (e.g. TestServer): read at most maxBytes + 1.
            using var limited = new LimitedReadStream(request.Body, maxBytes);
            body = await JsonSerializer.DeserializeAsync<T>(limited, serializerOptions, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path && path != "$" ? $" at {path}" : string.Empty;
            throw new ChatException(ChatErrorCodes.ValidationFailed, $"The request body is not valid JSON for this request{where}.", new Dictionary<string, string[]> { ["body"] = [$"Malformed JSON or wrong value type{where}."] }, innerException: ex);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
        catch (PayloadTooLargeException)
        {
            throw TooLarge(maxBytes);
        }

        return body ?? throw new ChatException(ChatErrorCodes.ValidationFailed, "A request body is required.", new Dictionary<string, string[]> { ["body"] = ["A JSON object is required."] });
    }

    private static ChatException TooLarge(long maxBytes) =>
        new(ChatErrorCodes.PayloadTooLarge, $"The request body is larger than {maxBytes} bytes.");

    private sealed class PayloadTooLargeException : IOException;

    private sealed class LimitedReadStream(Stream inner, long maxBytes) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            return _read > maxBytes ? throw new PayloadTooLargeException() : read;
        }
    }
}
