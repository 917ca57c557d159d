using System.CommandLine;
using ChitChat.Cli;
using ChitChat.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;

var server = new Option<Uri>("--server", "-s")
{
    Description = "The ChitChat server.",
    DefaultValueFactory = _ => new Uri("http://localhost:5000"),
    CustomParser = result =>
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        result.AddError($"--server must be an http or https address such as http://localhost:5000 (was '{text}').");
        return null;
    },
};
var user = new Option<string?>("--user", "-u") { Description = "The user name (prompted when missing)." };
var password = new Option<string?>("--password", "-p") { Description = "The password (or env CHITCHAT_PASSWORD; prompted without echo when missing)." };
var register = new Option<bool>("--register") { Description = "Register the account first." };
var room = new Option<string>("--room", "-r") { Description = "The room to join.", DefaultValueFactory = _ => "global" };
var json = new Option<bool>("--json") { Description = "Script mode: stdin lines are sent, each received message is printed as one JSON line." };
var history = new Option<int?>("--history") { Description = "How many recent messages to show when joining (default 20; 0 with --json)." };

var root = new RootCommand("ChitChat terminal client") { server, user, password, register, room, json, history };
root.SetAction((parse, cancellationToken) => RunAsync(
    new ClientSettings(
        parse.GetValue(server)!,
        parse.GetValue(user),
        parse.GetValue(password) ?? Environment.GetEnvironmentVariable("CHITCHAT_PASSWORD"),
        parse.GetValue(register),
        parse.GetValue(room)!,
        parse.GetValue(json),
        parse.GetValue(history)),
    cancellationToken));
return await root.Parse(args).InvokeAsync();

static async Task<int> RunAsync(ClientSettings settings, CancellationToken cancellationToken)
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders();
    builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // stdout is for chat output only
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
    builder.Services.AddSingleton(settings);
    builder.Services.AddSingleton(TimeProvider.System);
    builder.Services.AddSingleton(sp => new ChitChatClient(new ChitChatClientOptions
    {
        Server = settings.Server,
        TimeProvider = sp.GetRequiredService<TimeProvider>(),
        LoggerFactory = sp.GetRequiredService<ILoggerFactory>(),
        RetryDelay = TimeSpan.FromSeconds(2),
    }));
    using var host = builder.Build();
    await host.StartAsync(cancellationToken);
    using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
    var client = host.Services.GetRequiredService<ChitChatClient>();
    try
    {
        string userName, secret;
        var registerFirst = settings.Register;
        if (settings.Json)
        {
            if (settings.User is null || settings.Password is null)
            {
                Console.Error.WriteLine("error: --json needs --user and --password (or CHITCHAT_PASSWORD).");
                return 2;
            }

            (userName, secret) = (settings.User, settings.Password);
        }
        else
        {
            (userName, secret, registerFirst) = InteractiveRunner.PromptCredentials(settings);
        }

        if (registerFirst)
        {
            await client.RegisterAsync(userName, secret, stopping.Token);
            Console.Error.WriteLine($"registered: {userName}");
        }

        await client.LoginAsync(userName, secret, stopping.Token);
        await client.ConnectAsync(stopping.Token);
        return settings.Json
            ? await new JsonRunner(client, settings, Console.In, Console.Out, Console.Error).RunAsync(stopping.Token)
            : await new InteractiveRunner(client, settings, TimeProvider.System).RunAsync(stopping.Token);
    }
    catch (ChitChatException ex)
    {
        if (settings.Json)
        {
            Console.Error.WriteLine($"error: {ex.Code}: {ex.Message}");
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error: {ex.Code}: {ex.Message}[/]");
        }

        return 1;
    }
    catch (HttpRequestException ex)
    {
        Console.Error.WriteLine($"error: cannot reach {settings.Server}: {ex.Message}");
        return 1;
    }
    catch (OperationCanceledException) when (stopping.IsCancellationRequested)
    {
        return 130;
    }
    finally
    {
        await client.DisposeAsync();
        await host.StopAsync(CancellationToken.None);
    }
}
