/**
 * Imported first by every entry point (the service, the CLIs, the demo): the AWS SDK prints a
 * warning at start on Node < 22 that its 2027 releases will need Node 22. It says nothing about
 * this service's behaviour, so it is turned off unless the environment already decides
 * (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false shows it). Other warnings are untouched.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
