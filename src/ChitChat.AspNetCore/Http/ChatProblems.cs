using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Http;

/// <summary>Writes ChitChat errors as RFC 9457 problem details with a stable <c>code</c> extension member.</summary>
public static class ChatProblems
{
    /// <summary>The media type of problem details: <c>application/problem+json</c>.</summary>
    public const string ContentType = "application/problem+json";

    /// <summary>Maps an error code to its HTTP status.</summary>
    /// <param name="code">A code from <see cref="ChatErrorCodes"/>.</param>
    /// <returns>The status code.</returns>
    public static int StatusFor(string code) => code switch
    {
        ChatErrorCodes.ValidationFailed => StatusCodes.Status400BadRequest,
        ChatErrorCodes.TooManyRooms => StatusCodes.Status400BadRequest,
        ChatErrorCodes.UserExists => StatusCodes.Status409Conflict,
        ChatErrorCodes.InvalidCredentials => StatusCodes.Status401Unauthorized,
        ChatErrorCodes.Unauthorized => StatusCodes.Status401Unauthorized,
        ChatErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ChatErrorCodes.RoomExists => StatusCodes.Status409Conflict,
        ChatErrorCodes.RoomNotFound => StatusCodes.Status404NotFound,
        ChatErrorCodes.UserNotFound => StatusCodes.Status404NotFound,
        ChatErrorCodes.MessageNotFound => StatusCodes.Status404NotFound,
        ChatErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ChatErrorCodes.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ChatErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>Creates the problem details of a <see cref="ChatException"/>.</summary>
    /// <param name="exception">The error.</param>
    /// <param name="context">The request, for the instance and trace id.</param>
    /// <returns>The problem details (<see cref="HttpValidationProblemDetails"/> when the error has field errors).</returns>
    public static ProblemDetails Create(ChatException exception, HttpContext? context)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Create(exception.Code, exception.Message, exception.Errors, context);
    }

    /// <summary>Creates problem details for an error code.</summary>
    /// <param name="code">A code from <see cref="ChatErrorCodes"/>.</param>
    /// <param name="detail">The human-readable detail.</param>
    /// <param name="errors">Per-field errors (for <see cref="ChatErrorCodes.ValidationFailed"/>).</param>
    /// <param name="context">The request, for the instance and trace id.</param>
    /// <returns>The problem details.</returns>
    public static ProblemDetails Create(string code, string detail, IReadOnlyDictionary<string, string[]>? errors, HttpContext? context)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        var status = StatusFor(code);
        ProblemDetails problem = errors is { Count: > 0 } || code == ChatErrorCodes.ValidationFailed
            ? new HttpValidationProblemDetails(errors?.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal) ?? [])
            : new ProblemDetails();
        problem.Status = status;
        problem.Title = TitleFor(code);
        problem.Detail = detail;
        problem.Type = "https://chitchat.dev/problems/" + code.Replace('_', '-');
        problem.Extensions["code"] = code;
        if (context is not null)
        {
            problem.Instance = context.Request.Path;
            problem.Extensions["traceId"] = Activity.Current?.Id ?? context.TraceIdentifier;
        }

        return problem;
    }

    /// <summary>Writes problem details for a <see cref="ChatException"/>, with <c>Retry-After</c> for retriable errors.</summary>
    /// <param name="context">The request.</param>
    /// <param name="exception">The error.</param>
    /// <returns>A task that completes when written.</returns>
    public static Task WriteAsync(HttpContext context, ChatException exception)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(exception);
        var retryAfter = exception.RetryAfter ?? (exception.Code is ChatErrorCodes.RateLimited or ChatErrorCodes.Unavailable ? TimeSpan.FromSeconds(1) : null);
        return WriteAsync(context, Create(exception, context), retryAfter);
    }

    /// <summary>Writes problem details.</summary>
    /// <param name="context">The request.</param>
    /// <param name="problem">The problem.</param>
    /// <param name="retryAfter">When set, a <c>Retry-After</c> header in whole seconds (rounded up).</param>
    /// <returns>A task that completes when written.</returns>
    public static async Task WriteAsync(HttpContext context, ProblemDetails problem, TimeSpan? retryAfter = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(problem);
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        if (retryAfter is { } delay)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(problem, problem.GetType(), options: null, contentType: ContentType, context.RequestAborted).ConfigureAwait(false);
    }

    private static string TitleFor(string code) => code switch
    {
        ChatErrorCodes.ValidationFailed => "The request is not valid.",
        ChatErrorCodes.UserExists => "The user name is taken.",
        ChatErrorCodes.InvalidCredentials => "The user name or password is incorrect.",
        ChatErrorCodes.Unauthorized => "Authentication is required.",
        ChatErrorCodes.Forbidden => "The request is not allowed.",
        ChatErrorCodes.RoomExists => "The room already exists.",
        ChatErrorCodes.RoomNotFound => "The room does not exist.",
        ChatErrorCodes.UserNotFound => "The user does not exist or is not a member.",
        ChatErrorCodes.MessageNotFound => "The message does not exist.",
        ChatErrorCodes.RateLimited => "Too many requests.",
        ChatErrorCodes.PayloadTooLarge => "The payload is too large.",
        ChatErrorCodes.Unavailable => "The service is temporarily unavailable.",
        ChatErrorCodes.TooManyRooms => "Too many rooms joined.",
        _ => "The request failed.",
    };
}

/// <summary>An <see cref="IResult"/> that writes a <see cref="ChatException"/> as problem details.</summary>
/// <param name="exception">The error.</param>
internal sealed class ChatProblemResult(ChatException exception) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext) => ChatProblems.WriteAsync(httpContext, exception);
}
