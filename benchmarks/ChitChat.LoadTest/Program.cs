Console.WriteLine("ChitChat load test (under construction)");
