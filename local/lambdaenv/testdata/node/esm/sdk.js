// Imports a package found only through NODE_PATH, as the AWS SDK is on
// Lambda: ES modules ignore NODE_PATH, so the client's resolve hook finds it.
import { name } from "lambdaws-fake-sdk";

export const handler = async () => name;
