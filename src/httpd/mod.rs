// The httpd glue (the only unsafe code).
