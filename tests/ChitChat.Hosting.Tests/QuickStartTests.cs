using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ChitChat.Hosting.Tests;

/// <summary>
/// The README's "Quick start for library users", exactly as written: the libraries packed with a version unique to this
/// run into a local feed, a new <c>dotnet new web</c> project outside the repository that adds the packages the README
/// names, its <c>Program.cs</c> replaced by the README's C# block; started, it must register, log in and send a message.
/// </summary>
/// <remarks>
/// Restores go through a <c>nuget.config</c> that adds the local feed to the machine's own sources (the NuGet mirror). The
/// packages of this run are removed from the global packages folder at the end, so no version is ever reused.
/// </remarks>
public sealed partial class QuickStartTests : IDisposable
{
    private const string SigningKey = "chitchat-quick-start-signing-key-0123456789abcdef";
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly TempDir _dir = new("chitchat-quickstart-");
    private readonly string _version = $"0.0.0-qs.{DateTime.UtcNow:yyyyMMddHHmmss}.{Guid.NewGuid().ToString("N")[..8]}";
    private IReadOnlySet<string> _packed = new HashSet<string>();

    public void Dispose()
    {
        RemoveFromGlobalPackages();
        _dir.Dispose();
    }

    [Fact]
    public async Task The_README_quick_start_runs_from_packed_packages_and_a_user_registers_logs_in_and_sends()
    {
        var section = Repository.ReadmeSection("Quick start for library users");
        var program = Repository.CodeBlocks(section, "csharp").FirstOrDefault();
        Assert.True(program is not null, "the quick start has no csharp block");
        var commands = string.Join("\n", Repository.CodeBlocks(section, "bash"));
        var template = NewCommand().Match(commands);
        Assert.True(template.Success, "the quick start creates no project with 'dotnet new'");
        var packages = AddPackage().Matches(commands).Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(packages);

        var feed = Directory.CreateDirectory(Path.Combine(_dir.Path, "feed")).FullName;
        await PackAsync(packages, feed);

        // The user's project: outside the repository, its MSBuild and NuGet settings only its own.
        File.WriteAllText(Path.Combine(_dir.Path, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(_dir.Path, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(_dir.Path, "Directory.Packages.props"), "<Project><PropertyGroup><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup></Project>");
        File.WriteAllText(Path.Combine(_dir.Path, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="chitchat-quick-start" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        await ProcessRunner.RunAsync(ProcessRunner.Dotnet(_dir.Path, "new", template.Groups[1].Value, "-o", "app", "--no-restore"), "dotnet new", CommandTimeout);
        var app = Path.Combine(_dir.Path, "app");
        foreach (var package in packages)
        {
            await ProcessRunner.RunAsync(ProcessRunner.Dotnet(app, "add", "package", package, "--version", _version), $"dotnet add package {package}", CommandTimeout);
        }

        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
        await ProcessRunner.RunAsync(ProcessRunner.Dotnet(app, "build", "-nologo"), "dotnet build of the quick start", CommandTimeout);

        var run = ProcessRunner.Dotnet(app, "run", "--no-build", "--", "--urls", "http://127.0.0.1:0");
        run.Environment["ChitChat__Auth__SigningKey"] = SigningKey;
        run.Environment["ChitChat__PasswordHashIterations"] = "1000";
        using var server = new Process { StartInfo = run };
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.OutputDataReceived += (_, e) =>
        {
            ProcessRunner.Append(output, e.Data);
            if (e.Data is not null && ListeningOn().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value + "/"));
            }
        };
        server.ErrorDataReceived += (_, e) => ProcessRunner.Append(output, e.Data);
        server.EnableRaisingEvents = true;
        server.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the quick start app exited before listening"));
        Assert.True(server.Start(), "could not start dotnet run");
        try
        {
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            Uri address;
            try
            {
                address = await listening.Task.WaitAsync(StartTimeout);
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                // Give the output of an early exit (e.g. the start-up exception) a moment to be read fully.
                await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
                Assert.Fail($"start of the quick start app: {ex.Message}.\n{ProcessRunner.Text(output)}");
                return;
            }

            await ChatAsync(address, output);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private static async Task ChatAsync(Uri address, StringBuilder output)
    {
        using var http = new HttpClient { BaseAddress = address, Timeout = RequestTimeout };
        using (var register = await http.PostAsJsonAsync("api/auth/register", new { userName = "alice", password = "secret123" }))
        {
            Assert.True(register.StatusCode == HttpStatusCode.Created, $"register: {(int)register.StatusCode} {await register.Content.ReadAsStringAsync()}\n{ProcessRunner.Text(output)}");
        }

        string token;
        using (var login = await http.PostAsJsonAsync("api/auth/login", new { userName = "alice", password = "secret123" }))
        {
            Assert.True(login.StatusCode == HttpStatusCode.OK, $"login: {(int)login.StatusCode} {await login.Content.ReadAsStringAsync()}");
            using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
            token = body.RootElement.GetProperty("accessToken").GetString()!;
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var send = await http.PostAsJsonAsync("api/rooms/global/messages", new { text = "hello from the quick start", clientMessageId = "qs-1" }))
        {
            Assert.True(send.StatusCode == HttpStatusCode.Created, $"send: {(int)send.StatusCode} {await send.Content.ReadAsStringAsync()}");
        }

        using var history = JsonDocument.Parse(await http.GetStringAsync("api/rooms/global/messages"));
        var message = Assert.Single(history.RootElement.EnumerateArray());
        Assert.Equal("hello from the quick start", message.GetProperty("text").GetString());
        Assert.Equal("alice", message.GetProperty("authorName").GetString());
        Assert.Equal(1, message.GetProperty("seq").GetInt64());
    }

    /// <summary>Packs the packages the README names, and the ChitChat packages they depend on, with this run's version.</summary>
    private async Task PackAsync(IEnumerable<string> packages, string feed)
    {
        _packed = Repository.WithProjectDependencies(packages);

        // One solution for one restore and one build; the build output goes to a temp artifacts folder, never to the
        // repository's bin/obj. Nerdbank.GitVersioning sets the version in a target, so a target after it sets ours.
        var solution = Path.Combine(_dir.Path, "QuickStart.slnx");
        File.WriteAllText(solution, "<Solution>\n" + string.Concat(_packed.Select(id => $"  <Project Path=\"{Repository.ProjectFile(id)}\" />\n")) + "</Solution>\n");
        var versionTargets = Path.Combine(_dir.Path, "QuickStartVersion.targets");
        File.WriteAllText(versionTargets, """
            <Project>
              <Target Name="ChitChatQuickStartVersion" AfterTargets="GetBuildVersion">
                <PropertyGroup>
                  <Version>$(ChitChatQuickStartVersion)</Version>
                  <PackageVersion>$(ChitChatQuickStartVersion)</PackageVersion>
                  <NuGetPackageVersion>$(ChitChatQuickStartVersion)</NuGetPackageVersion>
                </PropertyGroup>
              </Target>
            </Project>
            """);
        var pack = ProcessRunner.Dotnet(_dir.Path, "pack", solution, "-c", "Release", "-nologo", "-clp:ErrorsOnly",
            $"-p:PackageOutputPath={feed}",
            $"-p:ChitChatQuickStartVersion={_version}",
            $"-p:CustomAfterMicrosoftCommonTargets={versionTargets}",
            "-p:UseArtifactsOutput=true",
            $"-p:ArtifactsPath={Path.Combine(_dir.Path, "artifacts")}");
        await ProcessRunner.RunAsync(pack, "dotnet pack", PackTimeout);
        foreach (var id in _packed)
        {
            Assert.True(File.Exists(Path.Combine(feed, $"{id}.{_version}.nupkg")), $"dotnet pack wrote no {id}.{_version}.nupkg");
        }
    }

    private void RemoveFromGlobalPackages()
    {
        var folder = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in _packed)
        {
            var extracted = Path.Combine(folder, id.ToLowerInvariant(), _version);
            try
            {
                if (Directory.Exists(extracted))
                {
                    Directory.Delete(extracted, recursive: true);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    [GeneratedRegex(@"^\s*dotnet new (\w+)", RegexOptions.Multiline)]
    private static partial Regex NewCommand();

    [GeneratedRegex(@"dotnet add package (ChitChat[\w.]*)")]
    private static partial Regex AddPackage();

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningOn();
}
