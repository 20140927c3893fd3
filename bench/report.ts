export function renderAll(_dir: string, _readme: string): void {}
