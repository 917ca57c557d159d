// WebApplicationFactory resolves the app's host through a process-wide diagnostic listener, so two factories must not
// start at the same time; the browser tests are also heavy enough for a 2-core machine one class at a time.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]
