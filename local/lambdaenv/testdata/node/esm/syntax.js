export const handler = async () => {
  return "unterminated;
};
