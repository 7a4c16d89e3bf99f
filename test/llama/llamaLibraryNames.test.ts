import { describe, expect, it } from 'vitest';
import { llamaLibraryNames } from '../../src/core/llama/LlamaBackend.ts';

describe('llamaLibraryNames', () => {
  it('lists only the chosen variant\'s llama library, read from the installed binary packages', () => {
    const cpu = llamaLibraryNames(false);
    expect(cpu.some((name) => /^libllama\.v[\d.]+\.so$/.test(name))).toBe(process.platform === 'linux');
    expect(cpu.filter((name) => /\.(cuda|vulkan|metal)\./.test(name))).toEqual([]);
    const cuda = llamaLibraryNames('cuda');
    // the CUDA package is an optional dependency: when installed, only its sonames are accepted
    if (cuda.some((name) => name.includes('.cuda.'))) expect(cuda.every((name) => name.includes('.cuda.'))).toBe(true);
    const vulkan = llamaLibraryNames('vulkan');
    if (vulkan.some((name) => name.includes('.vulkan.'))) expect(vulkan.every((name) => name.includes('.vulkan.'))).toBe(true);
  });
});
