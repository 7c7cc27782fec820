import { x } from "lambdaws-no-such-package";

export const handler = async () => x;
