/* main.c — placeholder while the selector is being built. */
int main(void) { return 0; }
