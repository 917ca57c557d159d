namespace ChitChat.Hosting.Tests;

/// <summary>
/// Packages of this repository packed with a version unique to one test into a folder feed, and the settings that make
/// a user's project outside the repository restore from it.
/// </summary>
/// <remarks>
/// Restores go through a <c>nuget.config</c> that adds the feed to the machine's own sources (the NuGet mirror). The
/// packages of this version are removed from the global packages folder on dispose, so no version is ever reused.
/// </remarks>
internal sealed class LocalFeed : IDisposable
{
    private readonly string _work;
    private IReadOnlySet<string> _packed = new HashSet<string>();

    /// <summary>Creates an empty feed in <c>feed/</c> under <paramref name="workDirectory"/>, which also holds the pack's build output.</summary>
    public LocalFeed(string workDirectory, string versionTag)
    {
        _work = workDirectory;
        Path = Directory.CreateDirectory(System.IO.Path.Combine(workDirectory, "feed")).FullName;
        Version = $"0.0.0-{versionTag}.{DateTime.UtcNow:yyyyMMddHHmmss}.{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>Gets the feed's folder.</summary>
    public string Path { get; }

    /// <summary>Gets the version of every package packed into this feed.</summary>
    public string Version { get; }

    /// <summary>Gets the path of a package packed into this feed.</summary>
    public string Package(string id) => System.IO.Path.Combine(Path, $"{id}.{Version}.nupkg");

    /// <summary>Packs the projects under <c>src/</c> named by <paramref name="packageIds"/>, and the ChitChat projects they reference, with <see cref="Version"/>.</summary>
    public async Task PackAsync(IEnumerable<string> packageIds, TimeSpan timeout)
    {
        _packed = Repository.WithProjectDependencies(packageIds);

        // One solution for one restore and one build; the build output goes to a temp artifacts folder, never to the
        // repository's bin/obj. Nerdbank.GitVersioning sets the version in a target, so a target after it sets ours.
        var solution = System.IO.Path.Combine(_work, "Packages.slnx");
        File.WriteAllText(solution, "<Solution>\n" + string.Concat(_packed.Select(id => $"  <Project Path=\"{Repository.ProjectFile(id)}\" />\n")) + "</Solution>\n");
        var versionTargets = System.IO.Path.Combine(_work, "LocalFeedVersion.targets");
        File.WriteAllText(versionTargets, """
            <Project>
              <Target Name="ChitChatLocalFeedVersion" AfterTargets="GetBuildVersion">
                <PropertyGroup>
                  <Version>$(ChitChatLocalFeedVersion)</Version>
                  <PackageVersion>$(ChitChatLocalFeedVersion)</PackageVersion>
                  <NuGetPackageVersion>$(ChitChatLocalFeedVersion)</NuGetPackageVersion>
                </PropertyGroup>
              </Target>
            </Project>
            """);
        var pack = ProcessRunner.Dotnet(_work, "pack", solution, "-c", "Release", "-nologo", "-clp:ErrorsOnly",
            $"-p:PackageOutputPath={Path}",
            $"-p:ChitChatLocalFeedVersion={Version}",
            $"-p:CustomAfterMicrosoftCommonTargets={versionTargets}",
            "-p:UseArtifactsOutput=true",
            $"-p:ArtifactsPath={System.IO.Path.Combine(_work, "artifacts")}");
        await ProcessRunner.RunAsync(pack, "dotnet pack", timeout);
        foreach (var id in _packed)
        {
            Assert.True(File.Exists(Package(id)), $"dotnet pack wrote no {id}.{Version}.nupkg");
        }
    }

    /// <summary>
    /// Makes <paramref name="directory"/> a user's folder: outside the repository, its MSBuild settings only its own (empty
    /// Directory.Build.props/targets, no central package management), and a <c>nuget.config</c> that adds this feed.
    /// </summary>
    public void WriteUserSettings(string directory)
    {
        File.WriteAllText(System.IO.Path.Combine(directory, "Directory.Build.props"), "<Project />");
        File.WriteAllText(System.IO.Path.Combine(directory, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(System.IO.Path.Combine(directory, "Directory.Packages.props"), "<Project><PropertyGroup><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup></Project>");
        File.WriteAllText(System.IO.Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="chitchat-local-feed" value="{Path}" />
              </packageSources>
            </configuration>
            """);
    }

    public void Dispose()
    {
        var folder = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in _packed)
        {
            var extracted = System.IO.Path.Combine(folder, id.ToLowerInvariant(), Version);
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
}
