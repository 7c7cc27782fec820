// A small CDK app for lambdaws's integration tests (TestLocalCDK): a
// WebSocket API with a REQUEST authorizer on $connect, Go functions built by
// GoFunction (one for arm64, as deployments often are), and a function whose
// code is a .zip asset (Code.fromAsset). The functions receive the API's
// address as CDK apps hand it to them: the stage's callbackUrl, the API's
// apiEndpoint and apiId. The test synthesizes it without an AWS account:
//   CDK_OUTDIR=out CALLBACK_ZIP=/path/to/callback.zip node synth.js
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { Architecture, Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { GoFunction } from '@aws-cdk/aws-lambda-go-alpha';

const testdata = path.resolve(__dirname, '..');
const zip = process.env.CALLBACK_ZIP;
if (!zip) {
  throw new Error('CALLBACK_ZIP: the zip package of the callback function');
}

const app = new App();
const stack = new Stack(app, 'WsChat');

const auth = new GoFunction(stack, 'Auth', {
  entry: path.join(testdata, 'apiauth'),
  architecture: Architecture.ARM_64,
});
const chat = new GoFunction(stack, 'Chat', {
  entry: path.join(testdata, 'callback'),
  architecture: Architecture.ARM_64,
});
const zipped = new Function(stack, 'Zipped', {
  runtime: Runtime.PROVIDED_AL2023,
  handler: 'bootstrap',
  code: Code.fromAsset(zip),
});

const api = new WebSocketApi(stack, 'Api', {
  connectRouteOptions: {
    integration: new WebSocketLambdaIntegration('Connection', chat),
    authorizer: new WebSocketLambdaAuthorizer('Authorizer', auth, {
      identitySource: ['route.request.querystring.token'],
    }),
  },
  defaultRouteOptions: { integration: new WebSocketLambdaIntegration('Message', chat) },
});
api.addRoute('zip', { integration: new WebSocketLambdaIntegration('Zip', zipped) });
const stage = new WebSocketStage(stack, 'Stage', { webSocketApi: api, stageName: 'dev', autoDeploy: true });

for (const fn of [auth, chat, zipped]) {
  fn.addEnvironment('API_ID', api.apiId);
  fn.addEnvironment('CALLBACK_URL', stage.callbackUrl);
  fn.addEnvironment('API_ENDPOINT', api.apiEndpoint);
}
app.synth();
